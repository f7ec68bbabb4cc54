"""What the hotline says and does on the telephone: each answer to Twilio as TwiML, built with
Twilio's own builders and spoken through backend/telephony/speech.say in the hotline's language
(ANXIN["IVR_LANGUAGE"]). The texts are English msgids, translated in locale/."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from backend.telephony.speech import say
from backend.telephony.twilio_backend import voice_response

HOOKS = "/hooks/twilio"


def hook_url(name: str, **query: Any) -> str:
    """The absolute URL Twilio is to request next (signed by Twilio against exactly this)."""
    suffix = f"?{urlencode(query)}" if query else ""
    return f"{settings.ANXIN_PUBLIC_URL}{HOOKS}/{name}/{suffix}"


def language() -> str:
    return str(settings.ANXIN["IVR_LANGUAGE"])


def queue_name(district_id: int) -> str:
    """Twilio's queue for a district's callers (one per district, created on first use)."""
    return f"anxin-district-{district_id}"


def _spoken(build: Callable[..., Any]) -> Callable[..., str]:
    """Build the answer with the hotline's language active (gettext) and return its XML."""

    @wraps(build)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        with translation.override(language()):
            return str(build(*args, **kwargs))

    return wrapper


def _menu_text() -> str:
    return _(
        "For a meal, press 1. For cleaning, press 2. For bathing, press 3. For medical help, "
        "press 4. For an escort, press 5. In an emergency, press 9. To speak to an operator, "
        "press 0."
    )


@_spoken
def menu(district_id: int, *, again: bool = False) -> Any:
    """The menu for a caller we know; no key within the timeout goes to the operator queue
    (the <Redirect> after <Gather> asks gather/ again without Digits)."""
    response = voice_response()
    action = hook_url("gather", d=district_id)
    gather = response.gather(
        num_digits=1,
        action=action,
        method="POST",
        timeout=int(settings.ANXIN["HOTLINE_MENU_TIMEOUT_S"]),
    )
    opening = (
        _("Sorry, that is not one of the choices.")
        if again
        else _("Welcome to the Anxin elderly care hotline.")
    )
    say(gather, f"{opening} {_menu_text()}", language())
    response.redirect(action, method="POST")
    return response


def _enqueue(response: Any, district_id: int) -> None:
    response.enqueue(
        queue_name(district_id),
        wait_url=hook_url("queue", step="wait", d=district_id),
        wait_url_method="POST",
        action=hook_url("queue", step="left", d=district_id),
        method="POST",
    )


@_spoken
def queue(district_id: int, *, emergency: bool = False, sorry: bool = False) -> Any:
    """Into the district's operator queue, with a word on why."""
    response = voice_response()
    if emergency:
        text = _(
            "We have raised an emergency and help is being sent. Please stay on the line: an "
            "operator will answer you first. If a life is in danger, call 120."
        )
    elif sorry:
        text = _("Sorry, we could not take that request. An operator will help you.")
    else:
        text = _("Please hold: an operator will answer you shortly.")
    say(response, text, language())
    _enqueue(response, district_id)
    return response


@_spoken
def operator_unreachable(district_id: int) -> Any:
    response = voice_response()
    say(response, _("Sorry, we could not connect you to the operator. Please hold."), language())
    _enqueue(response, district_id)
    return response


@_spoken
def hold(*, emergency: bool) -> Any:
    """What a waiting caller hears; Twilio asks the wait URL again when it ends."""
    response = voice_response()
    text = _("Thank you for waiting. An operator will be with you soon.")
    if emergency:
        text = f"{text} {_('If a life is in danger, call 120.')}"
    say(response, text, language())
    response.pause(length=int(settings.ANXIN["HOTLINE_HOLD_PAUSE_S"]))
    return response


@_spoken
def leave_queue() -> Any:
    response = voice_response()
    response.leave()
    return response


@_spoken
def voicemail(district_id: int) -> Any:
    response = voice_response()
    say(
        response,
        _(
            "All our operators are busy. Please leave a message after the tone, and press the "
            "hash key when you have finished. We will call you back."
        ),
        language(),
    )
    response.record(
        action=hook_url("queue", step="recorded", d=district_id),
        method="POST",
        max_length=int(settings.ANXIN["HOTLINE_MESSAGE_MAX_S"]),
        finish_on_key="#",
        play_beep=True,
    )
    say(response, _("We did not receive a message. Goodbye."), language())
    response.hangup()
    return response


@_spoken
def message_kept() -> Any:
    response = voice_response()
    say(response, _("Thank you. An operator will call you back. Goodbye."), language())
    response.hangup()
    return response


def reference_digits(reference: str) -> str:
    """A work order's reference as the caller should hear it: digit by digit."""
    return ", ".join(ch for ch in reference if ch.isdigit())


@_spoken
def request_received(reference: str) -> Any:
    response = voice_response()
    digits = reference_digits(reference)
    say(
        response,
        _(
            "Your request has been received. Your reference number is %(digits)s. "
            "Once more: %(digits)s. Goodbye."
        )
        % {"digits": digits},
        language(),
    )
    response.hangup()
    return response


@_spoken
def dial_operator(*, phone: str, operator_id: int, district_id: int) -> Any:
    """Connect the caller to the operator's phone; when it answers, the operator hears a word
    first (answered/), and when the dial ends, dialled/ decides what next."""
    response = voice_response()
    dial = response.dial(
        action=hook_url("queue", step="dialled", op=operator_id, d=district_id),
        method="POST",
        timeout=int(settings.ANXIN["HOTLINE_DIAL_TIMEOUT_S"]),
    )
    dial.number(
        phone, url=hook_url("queue", step="answered", op=operator_id, d=district_id), method="POST"
    )
    return response


@_spoken
def operator_whisper(operator_language: str | None = None) -> Any:
    """Said to the operator before the caller is put through."""
    response = voice_response()
    spoken = operator_language or language()
    with translation.override(spoken):
        say(response, _("Anxin hotline call. Connecting you now."), spoken)
    return response


@_spoken
def not_in_service() -> Any:
    response = voice_response()
    say(
        response,
        _("This number is not in service for the hotline. In an emergency, call 120."),
        language(),
    )
    response.hangup()
    return response


@_spoken
def goodbye() -> Any:
    response = voice_response()
    response.hangup()
    return response


def empty() -> str:
    return str(voice_response())
