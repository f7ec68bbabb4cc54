"""What the hotline says and does on the telephone: each answer to Twilio as TwiML, built with
Twilio's own builders and spoken through backend/telephony/speech.say in the hotline's language
(ANXIN["IVR_LANGUAGE"]). The texts are English msgids, translated in locale/."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from backend.telephony.backends import hook_url
from backend.telephony.speech import say
from backend.telephony.twilio_backend import voice_response


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


def wait_query(district_id: int, *, emergency: bool) -> dict[str, int]:
    """The wait URL's query: an emergency says so itself (`e=1`), so that a caller who pressed
    9 is never sent to voicemail even while the database cannot tell."""
    return {"d": district_id, "e": 1} if emergency else {"d": district_id}


def _enqueue(response: Any, district_id: int, *, emergency: bool) -> None:
    response.enqueue(
        queue_name(district_id),
        wait_url=hook_url("queue", step="wait", **wait_query(district_id, emergency=emergency)),
        wait_url_method="POST",
        action=hook_url("queue", step="left", d=district_id),
        method="POST",
    )


@_spoken
def queue(district_id: int, *, emergency: bool = False, sorry: bool = False) -> Any:
    """Into the district's operator queue, with a word on why."""
    response = voice_response()
    if sorry:
        text = _("Sorry, we could not take that request. An operator will help you.")
        if emergency:
            text = f"{text} {_('If a life is in danger, call 120.')}"
    elif emergency:
        text = _(
            "We have raised an emergency and help is being sent. Please stay on the line: an "
            "operator will answer you first. If a life is in danger, call 120."
        )
    else:
        text = _("Please hold: an operator will answer you shortly.")
    say(response, text, language())
    _enqueue(response, district_id, emergency=emergency)
    return response


@_spoken
def operator_unreachable(district_id: int, *, emergency: bool = False) -> Any:
    response = voice_response()
    say(response, _("Sorry, we could not connect you to the operator. Please hold."), language())
    _enqueue(response, district_id, emergency=emergency)
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
def dial_operator(
    *, phone: str, operator_id: int, district_id: int, call_sid: str, call_id: int
) -> Any:
    """Connect the caller to the operator's phone; when it answers, the operator hears what the
    call is and presses 1 to take it (answered/, accept/: call screening, so that a voicemail
    box never takes the caller), and when the dial ends, dialled/ decides what next. The caller
    is already answered (in our queue), so Twilio's answerOnBridge would change nothing. The
    operator's steps name the caller's call (`c`: its CallSid, `call`: our id) in their URL,
    which Twilio signs, rather than rely on the ParentCallSid of the operator's leg."""
    response = voice_response()
    dial = response.dial(
        action=hook_url("queue", step="dialled", op=operator_id, d=district_id),
        method="POST",
        timeout=int(settings.ANXIN["HOTLINE_DIAL_TIMEOUT_S"]),
    )
    dial.number(
        phone,
        url=hook_url(
            "queue", step="answered", op=operator_id, d=district_id, c=call_sid, call=call_id
        ),
        method="POST",
    )
    return response


@_spoken
def operator_whisper(
    operator_language: str | None,
    *,
    operator_id: int,
    district_id: int,
    call_sid: str,
    call_id: int,
) -> Any:
    """Said to the operator's phone when it answers, before the caller is put through: only
    pressing 1 takes the call; anything else (a voicemail box, nobody listening) hangs up the
    operator's leg and the caller goes back to the queue (dialled/)."""
    response = voice_response()
    spoken = operator_language or language()
    gather = response.gather(
        num_digits=1,
        action=hook_url(
            "queue", step="accept", op=operator_id, d=district_id, c=call_sid, call=call_id
        ),
        method="POST",
        timeout=int(settings.ANXIN["HOTLINE_SCREEN_TIMEOUT_S"]),
    )
    with translation.override(spoken):
        text = _("Anxin hotline call. To take it, press 1.")
        say(gather, f"{text} {text}", spoken)
    response.hangup()
    return response


@_spoken
def operator_connecting(operator_language: str | None) -> Any:
    """The operator pressed 1: a word, then Twilio puts the caller through."""
    response = voice_response()
    spoken = operator_language or language()
    with translation.override(spoken):
        say(response, _("Connecting you now."), spoken)
    return response


@_spoken
def operator_not_connected(operator_language: str | None) -> Any:
    """The operator pressed 1 but the take no longer stands (or could not be written)."""
    response = voice_response()
    spoken = operator_language or language()
    with translation.override(spoken):
        say(response, _("Sorry, this call could not be put through to you. Goodbye."), spoken)
    response.hangup()
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
