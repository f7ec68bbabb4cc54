"""Driving dispatch's telephone features as Twilio would: each call placed (the recording
backend's outbox) is answered by fetching its voice URL, a key is pressed by following the
<Gather> action of the answer, and the call ends with a status callback; every request is signed
as Twilio signs it and every answer must be TwiML."""

from django.test import Client

from tests.hotline.twiml import assert_twiml, local_path, signed_post


def calls(outbox) -> list[dict]:
    return [m for m in outbox if m["kind"] == "call"]


def sms(outbox) -> list[dict]:
    return [m for m in outbox if m["kind"] == "sms"]


def _post(capture, path: str, params: dict):
    with capture(execute=True):
        response = signed_post(Client(), path, params)
    assert response.status_code == 200, response.content
    return response


def answer(capture, call: dict, digits: str | None):
    """Answer `call`; press `digits` at its question (None: say nothing). The TwiML answer to
    the key (None when no key was pressed)."""
    spoken = _post(capture, local_path(call["url"]), {"CallSid": call["id"], "From": "+8657112349"})
    root = assert_twiml(spoken.content)
    gather = root.find("Gather")
    assert gather is not None, spoken.content
    if digits is None:
        return None
    pressed = _post(
        capture, local_path(gather.get("action")), {"CallSid": call["id"], "Digits": digits}
    )
    return assert_twiml(pressed.content)


def spoken(root) -> str:
    return " ".join(say.text or "" for say in root.iter("Say"))


def status(capture, call: dict, call_status: str) -> None:
    """Twilio's final status callback for `call`."""
    _post(
        capture, local_path(call["status_url"]), {"CallSid": call["id"], "CallStatus": call_status}
    )


def reply_sms(capture, from_number: str, body: str) -> str:
    """An inbound SMS; the text of the reply (empty: none)."""
    response = _post(capture, "/hooks/twilio/sms/", {"From": from_number, "Body": body})
    root = assert_twiml(response.content)
    return " ".join(text for text in root.itertext()).strip()
