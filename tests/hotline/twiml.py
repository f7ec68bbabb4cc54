"""Test helpers for Twilio's webhooks, shared by every part that answers Twilio:

- `assert_twiml(text)`: the answer is well-formed XML, its root is <Response>, and every element
  is a TwiML verb or noun where TwiML allows it (a <Number> only inside <Dial>, <Body> only
  inside <Message>, SSML only inside <Say>...). Returns the parsed root.
- `twilio_signature(url, params)` and `signed_post(client, path, params)`: a webhook request
  signed exactly as Twilio signs it (the full URL Twilio requested, ANXIN_PUBLIC_URL + path +
  query, then each POST parameter's name and value in name order, HMAC-SHA1 under the auth
  token, base64), written out here rather than taken from the code under test.
- `local_path(url)`: an absolute URL from a TwiML answer (an `action`, `waitUrl`, <Redirect>)
  as the path and query to request next, after checking it points at ANXIN_PUBLIC_URL.
"""

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit
from xml.etree import ElementTree

from django.conf import settings

SIGNATURE_HEADER = "HTTP_X_TWILIO_SIGNATURE"

_SSML = {"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"}
_VOICE_VERBS = {
    "Say", "Play", "Pause", "Gather", "Dial", "Enqueue", "Leave", "Hangup", "Redirect",
    "Record", "Reject", "Pay", "Connect", "Start", "Stop", "Refer", "Echo", "Sms",
}  # fmt: skip
# What each element may contain. A name missing here is not TwiML at all.
CHILDREN: dict[str, set[str]] = {
    "Response": _VOICE_VERBS | {"Message"},
    # Voice verbs.
    "Say": _SSML,
    **{ssml: _SSML for ssml in _SSML},
    "Play": set(),
    "Pause": set(),
    "Gather": {"Say", "Play", "Pause"},
    "Dial": {"Number", "Client", "Conference", "Queue", "Sip", "Sim", "Application"},
    "Enqueue": {"Task"},
    "Leave": set(),
    "Hangup": set(),
    "Redirect": set(),
    "Record": set(),
    "Reject": set(),
    "Pay": {"Prompt", "Parameter"},
    "Prompt": {"Say", "Play", "Pause"},
    "Connect": {"Stream", "Room", "Conversation", "VirtualAgent", "ConversationRelay"},
    "Start": {"Stream", "Siprec", "Transcription"},
    "Stop": {"Stream", "Siprec", "Transcription"},
    "Refer": {"Sip"},
    "Echo": set(),
    "Sms": set(),
    # Voice nouns.
    "Number": set(),
    "Client": {"Identity", "Parameter"},
    "Identity": set(),
    "Conference": set(),
    "Queue": set(),
    "Sip": set(),
    "Sim": set(),
    "Application": {"ApplicationSid", "Parameter"},
    "ApplicationSid": set(),
    "Task": set(),
    "Stream": {"Parameter"},
    "Siprec": {"Parameter"},
    "Transcription": {"Parameter"},
    "Room": set(),
    "Conversation": set(),
    "VirtualAgent": {"Parameter"},
    "ConversationRelay": {"Language", "Parameter"},
    "Language": set(),
    "Parameter": set(),
    # Messaging.
    "Message": {"Body", "Media", "Redirect"},
    "Body": set(),
    "Media": set(),
}
# Elements that hold only other elements: any text in them is a mistake (Twilio ignores or
# rejects it).
NO_TEXT = {"Response", "Gather", "Pause", "Leave", "Hangup", "Record", "Reject", "Pay", "Connect"}


def _check(element: ElementTree.Element, path: str) -> None:
    tag = element.tag
    assert tag in CHILDREN, f"{path}: <{tag}> is not a TwiML verb or noun"
    if tag in NO_TEXT:
        assert not (element.text or "").strip(), f"{path}: text inside <{tag}>"
    for name, value in element.attrib.items():
        assert value not in ("None", ""), f"{path}: <{tag} {name}={value!r}>"
    for child in element:
        assert child.tag in CHILDREN[tag], f"{path}: <{child.tag}> is not allowed in <{tag}>"
        if tag in NO_TEXT:
            assert not (child.tail or "").strip(), f"{path}: text after <{child.tag}>"
        _check(child, f"{path}/{child.tag}")


def assert_twiml(text: str | bytes) -> ElementTree.Element:
    """Parse a webhook's answer and check it is TwiML; return the root <Response>."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        root = ElementTree.fromstring(text.encode("utf-8"))
    except ElementTree.ParseError as error:
        raise AssertionError(f"not well-formed XML ({error}): {text!r}") from None
    assert root.tag == "Response", f"the root is <{root.tag}>, not <Response>: {text!r}"
    _check(root, "Response")
    return root


def _values(params: Mapping[str, str | Iterable[str]], name: str) -> list[str]:
    if hasattr(params, "getlist"):
        return list(params.getlist(name))
    value = params[name]
    return [value] if isinstance(value, str) else list(value)


def twilio_signature(
    url: str, params: Mapping[str, str | Iterable[str]], token: str | None = None
) -> str:
    """What Twilio puts in X-Twilio-Signature: the URL, then every parameter name followed by
    its value, names in (case-sensitive) sorted order, a repeated name's values sorted (and an
    identical value once, as Twilio's own SDKs do); HMAC-SHA1 under the auth token; base64."""
    signed = url
    for name in sorted(params):
        for value in sorted(set(_values(params, name))):
            signed += name + value
    key = (settings.TWILIO_AUTH_TOKEN if token is None else token).encode()
    return base64.b64encode(hmac.new(key, signed.encode(), hashlib.sha1).digest()).decode()


def public_url(path: str) -> str:
    return settings.ANXIN_PUBLIC_URL + path


def local_path(url: str) -> str:
    """The path and query of a URL Twilio will request next (from an `action`, `waitUrl`,
    `url` or <Redirect>): it must be on our public address."""
    if url.startswith("/"):
        return url
    base = urlsplit(settings.ANXIN_PUBLIC_URL)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == (base.scheme, base.netloc), (
        f"{url} is not on ANXIN_PUBLIC_URL ({settings.ANXIN_PUBLIC_URL})"
    )
    return parts.path + (f"?{parts.query}" if parts.query else "")


def signed_post(client, path: str, params: Mapping[str, str | Iterable[str]], **extra):
    """POST `params` (form-encoded, a list value sent as a repeated name) to `path` with the
    signature Twilio would send for ANXIN_PUBLIC_URL + path (its query included). A
    `signature=` keyword replaces the computed one (None: no header at all)."""
    signature = extra.pop("signature", twilio_signature(public_url(path), params))
    headers = {} if signature is None else {SIGNATURE_HEADER: signature}
    data = {name: _values(params, name) for name in params}
    return client.post(path, data=data, **headers, **extra)
