"""Twilio's requests about an operator's call-back of an alarm (hotline/alarm_call_back.py), all
at /hooks/twilio/call-back/?step=<step>&cb=<call-back id>, each refused (403) unless Twilio
signed it and (400) without a numeric `cb` and a CallSid (webhooks.twilio_webhook). The
call-back's id is in the URL Twilio was given, which its signature covers.

- `answered`: the operator's phone picked up (the placed call's URL): which elder and alarm,
  and "press 1 to call them now" (<Gather>, asked twice, then hang up: a voicemail box never
  calls an elder); another call (not the call-back's CallSid) hears only that it is over;
- `accept`: the operator's key: 1 dials the elder (<Dial callerId=the district's hotline>),
  another key asks again;
- `dialled`: the <Dial>'s end (DialCallStatus): why, if the elder did not answer, and whose the
  alarm is now (theirs, a colleague's, nobody's, or closed), then hang up;
- `status`: the operator's leg's status callbacks; `elder`: the elder's leg's.

A database too slow for the webhook's bound (hotline/bounded.py) is answered without it: the
operator hears that the call-back could not be read and is hung up on (status callbacks get an
empty answer); the sweep ends a call-back whose news was lost."""

from collections.abc import Callable

import structlog
from django.conf import settings
from django.http import HttpRequest

from backend.telephony.backends import hook_url
from backend.telephony.speech import say
from backend.telephony.twilio_backend import voice_response

from . import alarm_call_back as service
from .bounded import database_bounded
from .models import AlarmCallBack, AlarmCallBackState
from .webhooks import twilio_webhook

log = structlog.get_logger(__name__)

S = AlarmCallBackState
Step = Callable[[HttpRequest, int], str]
# What the operator hears when the elder's phone did not put them through.
NOT_THROUGH = {
    "no-answer": "call.alarm_call_back_no_answer",
    "busy": "call.alarm_call_back_busy",
    "failed": "call.alarm_call_back_failed",
}
OPERATOR_STEPS = frozenset({"answered", "accept"})


def _required(request: HttpRequest) -> list[str]:
    missing = [] if request.GET.get("cb", "").isdigit() else ["cb"]
    return missing + ([] if request.POST.get("CallSid", "") else ["CallSid"])


def _fallback(request: HttpRequest) -> str:
    step = request.GET.get("step", "")
    if step in OPERATOR_STEPS:
        return _over(None)
    response = voice_response()
    if step == "dialled":
        response.hangup()
    return str(response)


@twilio_webhook(_fallback, _required)
def call_back(request: HttpRequest) -> str:
    step = STEPS.get(request.GET.get("step", ""))
    if step is None:
        log.error("alarm_call_back_step_unknown", step=request.GET.get("step", "")[:20])
        return _fallback(request)
    return step(request, int(request.GET["cb"]))


def _answered(request: HttpRequest, call_back_id: int) -> str:
    with database_bounded():
        found = service.call_back_heard(
            call_back_id=call_back_id,
            leg=service.OPERATOR,
            call_sid=request.POST["CallSid"],
            operator_answered=True,
        )
    if (
        found is None
        or found.call_sid != request.POST["CallSid"]  # another call hears nothing of the alarm
        or found.state != S.OPERATOR_ANSWERED
    ):
        return _over(found)
    return _ask(found, times=2)


def _accept(request: HttpRequest, call_back_id: int) -> str:
    call_sid = request.POST["CallSid"]
    with database_bounded():
        if request.POST.get("Digits", "") == "1":
            found = service.call_back_heard(
                call_back_id=call_back_id, leg=service.OPERATOR, call_sid=call_sid, confirmed=True
            )
        else:
            found = service.call_back_read(call_back_id)
    if found is None or found.call_sid != call_sid:
        return _over(found)
    if found.state == S.OPERATOR_ANSWERED:
        return _ask(found, times=1)  # another key: not an answer, asked again
    if found.state != S.RINGING_ELDER:
        return _over(found)
    return _dial(found)


def _dialled(request: HttpRequest, call_back_id: int) -> str:
    status = request.POST.get("DialCallStatus", "")
    with database_bounded():
        found = service.call_back_dial_ended(
            call_back_id=call_back_id,
            dial_status=status,
            dial_call_sid=request.POST.get("DialCallSid", ""),
        )
    response = voice_response()
    if found is not None and status in NOT_THROUGH:
        for text, language in (
            service.spoken(found, NOT_THROUGH[status]),
            service.spoken_owner(found),
        ):
            say(response, text, language)
    response.hangup()
    return str(response)


def _status(request: HttpRequest, call_back_id: int) -> str:
    return _leg_status(request, call_back_id, service.OPERATOR)


def _elder(request: HttpRequest, call_back_id: int) -> str:
    return _leg_status(request, call_back_id, service.ELDER)


def _leg_status(request: HttpRequest, call_back_id: int, leg: str) -> str:
    with database_bounded():
        service.call_back_heard(
            call_back_id=call_back_id,
            leg=leg,
            call_sid=request.POST["CallSid"],
            status=request.POST.get("CallStatus", ""),
        )
    return str(voice_response())


STEPS: dict[str, Step] = {
    "answered": _answered,
    "accept": _accept,
    "dialled": _dialled,
    "status": _status,
    "elder": _elder,
}


def _ask(call_back: AlarmCallBack, *, times: int) -> str:
    """Which elder and alarm, and press 1 to call them; no key: hang up."""
    text, language = service.spoken(call_back, "call.alarm_call_back")
    response = voice_response()
    for _ in range(times):
        gather = response.gather(
            num_digits=1,
            action=hook_url("call-back", step="accept", cb=call_back.pk),
            method="POST",
            timeout=int(settings.ANXIN["HOTLINE_SCREEN_TIMEOUT_S"]),  # as the hotline screens
        )
        say(gather, text, language)
    response.hangup()
    return str(response)


def _dial(call_back: AlarmCallBack) -> str:
    """Put the operator through to the elder, the district's hotline number shown to them."""
    text, language = service.spoken(call_back, "call.alarm_call_back_dialling")
    response = voice_response()
    say(response, text, language)
    dial = response.dial(
        caller_id=call_back.caller_id,
        action=hook_url("call-back", step="dialled", cb=call_back.pk),
        method="POST",
        timeout=int(settings.ANXIN["ALARM_CALL_BACK_RING_S"]),
    )
    dial.number(
        call_back.elder_phone,
        status_callback=hook_url("call-back", step="elder", cb=call_back.pk),
        status_callback_event="initiated ringing answered completed",
        status_callback_method="POST",
    )
    return str(response)


def _over(call_back: AlarmCallBack | None) -> str:
    text, language = service.spoken(call_back, "call.alarm_call_back_over")
    response = voice_response()
    say(response, text, language)
    response.hangup()
    return str(response)
