"""Twilio: the only module that imports the `twilio` SDK. It gives the rest of the platform
three things and nothing more:

- `TwilioBackend`, the notification backend (backends.py) that sends SMS from a template and
  places and redirects calls through Twilio's REST API (its HTTP goes through `requests`, which
  tests mock);
- `signature_is_valid`, Twilio's own check of `X-Twilio-Signature` on a webhook;
- `voice_response` and `messaging_response`, Twilio's TwiML builders, so that every answer to a
  webhook uses only TwiML's verbs and is well-formed XML.

Settings: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER (docs/telephony.md)."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from .errors import ProviderError
from .templates import render

# Twilio's REST calls must not hold a Celery thread for long; a timeout is an OSError the
# delivery task handles by its policy (at most once for routine, again for emergencies).
HTTP_TIMEOUT_S = 10


def signature_is_valid(url: str, params: Mapping[str, Any], signature: str) -> bool:
    """Whether `signature` is what Twilio computes for this URL (scheme, host, path and query
    exactly as Twilio requested it) and these POST parameters, with our auth token."""
    token = settings.TWILIO_AUTH_TOKEN
    if not token or not signature:
        return False
    return bool(RequestValidator(token).validate(url, params, signature))


def signature_for(url: str, params: Mapping[str, Any]) -> str:
    """What Twilio would put in X-Twilio-Signature for this request, with our auth token: for
    playing Twilio against a development platform (manage.py hotline_call)."""
    return str(RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params))


def voice_response() -> VoiceResponse:
    return VoiceResponse()


def messaging_response() -> MessagingResponse:
    return MessagingResponse()


@cache
def _client() -> Client:
    return Client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        http_client=TwilioHttpClient(timeout=HTTP_TIMEOUT_S),
    )


# Twilio's refusals about the recipient: asking again cannot reach that number (an invalid
# number, one that cannot be reached or routed to, not a mobile, unsubscribed from our SMS).
RECIPIENT_CODES = frozenset({13223, 13224, 21211, 21214, 21216, 21217, 21401, 21610, 21612, 21614})
# Twilio's refusals about our own account or configuration, not the recipient: credentials,
# a suspended account, our From number, geographic permissions. Every message would be refused
# alike until someone fixes it, so nobody is given up on because of them.
CONFIGURATION_CODES = frozenset({20003, 20005, 20008, 21210, 21212, 21215, 21408, 21606, 21608})
CONFIGURATION_STATUSES = frozenset({401, 403})


@contextmanager
def _refusals_ours() -> Iterator[None]:
    """Twilio's REST refusals as our `ProviderError`: only a refusal about the recipient
    (RECIPIENT_CODES) is permanent; one about our account or configuration is `misconfigured`;
    any other (a 5xx, a rate limit, a 4xx we do not know) may pass later. Timeouts and lost
    connections pass through as they are (their outcome is unknown)."""
    try:
        yield
    except TwilioRestException as exc:
        status, code = int(exc.status or 0), int(exc.code or 0)
        raise ProviderError(
            str(code or status),
            permanent=code in RECIPIENT_CODES,
            misconfigured=code in CONFIGURATION_CODES or status in CONFIGURATION_STATUSES,
            status=status,
        ) from exc


class TwilioBackend:
    """Sends what the notification log asks for. Each method returns Twilio's SID, which the
    status callbacks carry back. Twilio takes a finished text, so an SMS template is rendered
    here, in the recipient's language."""

    def send_sms(
        self,
        *,
        to: str,
        template: str,
        params: Mapping[str, Any],
        language: str,
        status_url: str,
    ) -> str:
        with _refusals_ours():
            message = _client().messages.create(
                to=to,
                from_=settings.TWILIO_FROM_NUMBER,
                body=render(template, params, language),
                status_callback=status_url,
            )
        return str(message.sid)

    def place_call(
        self,
        *,
        to: str,
        url: str,
        status_url: str,
        template: str = "",
        params: Mapping[str, Any] | None = None,
        language: str = "",
    ) -> str:
        """Call `to`; when it is answered Twilio fetches its instructions from `url` (one of our
        webhooks, which speaks the template)."""
        with _refusals_ours():
            call = _client().calls.create(
                to=to,
                from_=settings.TWILIO_FROM_NUMBER,
                url=url,
                method="POST",
                status_callback=status_url,
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                status_callback_method="POST",
            )
        return str(call.sid)

    def redirect_call(self, *, call_sid: str, url: str) -> None:
        """Give a live call new instructions from `url`: a call waiting in a queue leaves it."""
        with _refusals_ours():
            _client().calls(call_sid).update(url=url, method="POST")
