"""Twilio's webhooks under /hooks/twilio/: plain Django views, each refusing (403) a request
whose X-Twilio-Signature is not Twilio's for ANXIN_PUBLIC_URL + the path and query it asked
for and the POST parameters as received, and each answering TwiML quickly whatever the
database does: its work is bounded (hotline/bounded.py), and a failure is answered with TwiML
that still gets the caller to a person (the district's queue), never with a 500.

- voice/: an inbound call (the hotline), or with `?n=` an outbound call answered (telephony's
  flows); gather/: the menu's key, or with `?n=` an outbound call's; queue/: the operator
  queue's steps (`?step=`); sms/: an inbound text; status/: Twilio's status callbacks."""

from collections.abc import Callable
from functools import wraps

import structlog
from django.conf import settings
from django.db import DatabaseError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    QueryDict,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from backend.accounts.models import User
from backend.core.i18n import language_for_user
from backend.core.side_effects import enqueue_after_commit
from backend.telephony import flows
from backend.telephony.services import delivery_status_record
from backend.telephony.tasks import inbound_sms_take
from backend.telephony.twilio_backend import messaging_response, signature_is_valid

from . import ivr, services, tasks
from .bounded import database_bounded
from .models import Call, CallPriority, CallState
from .numbers import district_for_number

log = structlog.get_logger(__name__)

Answer = Callable[[HttpRequest], str]
# What a request must carry (the names missing from it), checked before anything is written.
Required = Callable[[HttpRequest], list[str]]

CALL_PARAMS = ("CallSid", "From", "To")


def _signed(request: HttpRequest) -> bool:
    url = settings.ANXIN_PUBLIC_URL + request.get_full_path()
    return signature_is_valid(url, request.POST, request.headers.get("X-Twilio-Signature", ""))


def _missing(request: HttpRequest, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if not request.POST.get(name, "")]


def _bad_notification_id(request: HttpRequest) -> list[str]:
    raw = request.GET.get("n")
    return ["n"] if raw is not None and not raw.isdigit() else []


def _call_request(request: HttpRequest) -> list[str]:
    """A call's webhook: the call, its caller and the number called; an outbound call's
    (`?n=`): the call, and a notification id that is one."""
    if "n" in request.GET:
        return _bad_notification_id(request) + _missing(request, ("CallSid",))
    return _missing(request, CALL_PARAMS)


def twilio_webhook(
    fallback: Answer, required: Required
) -> Callable[[Answer], Callable[[HttpRequest], HttpResponse]]:
    """A view answering Twilio: POST only, no CSRF (Twilio signs instead), 403 unless signed,
    400 naming what is missing when the request lacks what it must carry (`required`, before
    anything is written); any failure inside is logged and answered with `fallback(request)`."""

    def decorate(answer: Answer) -> Callable[[HttpRequest], HttpResponse]:
        @csrf_exempt
        @require_POST
        @wraps(answer)
        def view(request: HttpRequest) -> HttpResponse:
            if not _signed(request):
                log.warning("twilio_signature_refused", path=request.path)
                return HttpResponseForbidden("Bad or missing X-Twilio-Signature")
            missing = required(request)
            if missing:
                log.warning("twilio_request_incomplete", path=request.path, missing=missing)
                return HttpResponseBadRequest(f"Missing or invalid: {', '.join(missing)}")
            try:
                text = answer(request)
            except DatabaseError:
                log.warning("hotline_database_slow", path=request.path, exc_info=True)
                text = fallback(request)
            except Exception:
                log.error("twilio_webhook_failed", path=request.path, exc_info=True)
                text = fallback(request)
            return HttpResponse(text, content_type="text/xml; charset=utf-8")

        return view

    return decorate


def _district(request: HttpRequest) -> int | None:
    """The district a hotline URL names (`d`), else the one the dialled number belongs to."""
    raw = request.GET.get("d", "")
    if raw.isdigit():
        return int(raw)
    return district_for_number(request.POST.get("To", ""))


def _to_queue(request: HttpRequest) -> str:
    """Whatever went wrong, a hotline caller waits for a person (an emergency as one)."""
    district_id = _district(request)
    if district_id is None:
        return ivr.not_in_service()
    return ivr.queue(district_id, emergency=request.GET.get("e") == "1")


def _hang_up(request: HttpRequest) -> str:
    return ivr.goodbye()


def _nothing(request: HttpRequest) -> str:
    return ivr.empty()


def _call_params(request: HttpRequest) -> dict[str, str]:
    return {
        "call_sid": request.POST.get("CallSid", ""),
        "from_number": request.POST.get("From", ""),
        "to_number": request.POST.get("To", ""),
    }


def _flows_fallback(request: HttpRequest) -> str:
    if request.GET.get("n"):
        return ivr.goodbye()
    return _to_queue(request)


@twilio_webhook(_flows_fallback, _call_request)
def voice(request: HttpRequest) -> str:
    if request.GET.get("n"):
        return flows.answer_twiml(_notification_id(request), request.POST)
    district_id = _district(request)
    if district_id is None:
        log.error("hotline_number_unknown", to=request.POST.get("To", ""))
        return ivr.not_in_service()
    with database_bounded():
        call = services.call_arrive(district_id=district_id, **_call_params(request))
        if call.state == CallState.RINGING and call.elders.count() == 1:
            call = services.call_menu_offer(call_id=call.pk)
        elif call.state == CallState.RINGING:
            call = services.call_enqueue(call_id=call.pk, reason="not_one_elder")
    if call.state == CallState.MENU:
        return ivr.menu(district_id)
    return _answer_for(call)


def _answer_for(call: Call) -> str:
    """A call the menu is done with: its reference read back, or the queue."""
    if call.state == CallState.SERVED and call.request is not None:
        return ivr.request_received(call.request.reference)
    if call.state == CallState.ENDED:
        return ivr.goodbye()
    return ivr.queue(call.district_id, emergency=call.priority == CallPriority.EMERGENCY)


def _notification_id(request: HttpRequest) -> int:
    raw = request.GET.get("n", "")
    if not raw.isdigit():
        raise ValueError("n is not a notification id")
    return int(raw)


def _gather_fallback(request: HttpRequest) -> str:
    """The menu's key could not be written in time. 9 is an emergency all the same: the caller
    is queued as one (never voicemail), and the emergency is written off the webhook's clock
    (an urgent task, and each of the caller's wait-URL requests) once the database answers."""
    district_id = _district(request)
    if request.GET.get("n") or district_id is None:
        return _flows_fallback(request)
    if request.POST.get("Digits", "")[:1] != services.EMERGENCY_KEY:
        return _to_queue(request)
    log.error("hotline_emergency_written_late", district=district_id)
    params = _call_params(request)
    enqueue_after_commit(
        tasks.call_emergency_ensure,
        call_sid=params["call_sid"],
        from_number=params["from_number"],
        to_number=params["to_number"],
        district_id=district_id,
    )
    return ivr.queue(district_id, emergency=True)


@twilio_webhook(_gather_fallback, _call_request)
def gather(request: HttpRequest) -> str:
    digits = request.POST.get("Digits", "")
    if request.GET.get("n"):
        return flows.gather_twiml(_notification_id(request), digits, request.POST)
    district_id = _district(request)
    if district_id is None:
        return ivr.not_in_service()
    with database_bounded():
        result = services.call_menu_choose(call_sid=request.POST.get("CallSid", ""), digits=digits)
    if result.repeat:
        return ivr.menu(district_id, again=True)
    if result.queued:
        emergency = result.call.priority == CallPriority.EMERGENCY
        return ivr.queue(district_id, emergency=emergency, sorry=result.refused)
    return _answer_for(result.call)


QUEUE_LEFT = frozenset({"leave", "queue-full", "error", "system-error"})


def _queue_fallback(request: HttpRequest) -> str:
    """The operator's leg (answered/, accept/) hangs up, and the caller goes back to the queue
    (dialled/); a caller's own step waits for a person."""
    if request.GET.get("step", "") in OPERATOR_LEG_STEPS:
        return ivr.goodbye()
    return _to_queue(request)


@twilio_webhook(_queue_fallback, lambda request: _missing(request, CALL_PARAMS))
def queue(request: HttpRequest) -> str:
    step = request.GET.get("step", "")
    handler = QUEUE_STEPS.get(step)
    if handler is None:
        log.error("hotline_queue_step_unknown", step=step[:20])
        return _to_queue(request)
    return handler(request)


def _queue_wait(request: HttpRequest) -> str:
    """Twilio asks while the caller waits (once per hold loop): hold, or past
    HOTLINE_QUEUE_WAIT_S, leave the queue for voicemail. An emergency (`e=1`, or the row says
    so) never goes to voicemail. A call the database could not write on arrival is written now,
    and an emergency the menu could not write, too; the row notes that the caller still holds."""
    waited = request.POST.get("QueueTime", "0")
    emergency = request.GET.get("e") == "1"
    district_id = _district(request)
    try:
        if district_id is not None:
            if emergency:
                with database_bounded():
                    services.call_emergency_ensure(district_id=district_id, **_call_params(request))
            with database_bounded():
                call = services.call_queued_ensure(district_id=district_id, **_call_params(request))
            emergency = emergency or call.priority == CallPriority.EMERGENCY
    except DatabaseError:
        log.warning("hotline_database_slow", path=request.path, exc_info=True)
        return ivr.hold(emergency=emergency)  # not knowing, never send a caller away
    limit = int(settings.ANXIN["HOTLINE_QUEUE_WAIT_S"])
    if not emergency and waited.isdigit() and int(waited) >= limit:
        return ivr.leave_queue()
    return ivr.hold(emergency=emergency)


def _queue_left(request: HttpRequest) -> str:
    """The <Enqueue> ended: left for voicemail (or Twilio's queue failed), or gone on to an
    operator (redirected, bridged) or hung up, when nothing more is said."""
    result = request.POST.get("QueueResult", "")
    if result not in QUEUE_LEFT:
        return ivr.empty()
    district_id = _district(request)
    if district_id is None:
        return ivr.not_in_service()
    try:
        with database_bounded():
            services.call_voicemail(call_sid=request.POST.get("CallSid", ""))
    except DatabaseError:
        log.warning("hotline_database_slow", path=request.path, exc_info=True)
    return ivr.voicemail(district_id)


def _queue_recorded(request: HttpRequest) -> str:
    sid = request.POST.get("RecordingSid", "")
    duration = request.POST.get("RecordingDuration", "")
    if not sid or duration in ("", "0"):
        return ivr.goodbye()
    with database_bounded():
        services.call_message_record(
            call_sid=request.POST.get("CallSid", ""),
            recording_sid=sid,
            recording_url=request.POST.get("RecordingUrl", ""),
            duration_s=int(duration) if duration.isdigit() else None,
        )
    return ivr.message_kept()


def _operator(request: HttpRequest) -> int | None:
    raw = request.GET.get("op", "")
    return int(raw) if raw.isdigit() else None


def _queue_connect(request: HttpRequest) -> str:
    """An operator took the call (the platform redirected it here once the take committed):
    ring their phone if the call is still theirs, else back to the queue."""
    district_id = _district(request)
    operator_id = _operator(request)
    if district_id is None or operator_id is None:
        return _to_queue(request)
    call_sid = request.POST.get("CallSid", "")
    with database_bounded():
        phone = services.call_connecting_phone(call_sid=call_sid, operator_id=operator_id)
        call = Call.objects.filter(call_sid=call_sid).only("pk", "priority").first()
    emergency = call is not None and call.priority == CallPriority.EMERGENCY
    if not phone or call is None:
        return ivr.operator_unreachable(district_id, emergency=emergency)
    return ivr.dial_operator(
        phone=phone,
        operator_id=operator_id,
        district_id=district_id,
        call_sid=call_sid,
        call_id=call.pk,
    )


def _caller_call(request: HttpRequest) -> tuple[str, int]:
    """The caller's call an operator's step is about, as our URL names it (signed by Twilio),
    never the ParentCallSid Twilio may or may not send for the operator's leg."""
    raw = request.GET.get("call", "")
    return request.GET.get("c", ""), int(raw) if raw.isdigit() else 0


def _taking_operator(call_sid: str, call_id: int, operator_id: int) -> User | None:
    """The operator a call is being connected to, if it is `operator_id`."""
    call = (
        Call.objects.select_related("taken_by")
        .filter(call_sid=call_sid, pk=call_id, state=CallState.CONNECTING, taken_by_id=operator_id)
        .first()
    )
    return call.taken_by if call is not None else None


def _queue_answered(request: HttpRequest) -> str:
    """The operator's phone answered (this request is about the operator's leg; the URL names
    the caller's call): the operator hears what the call is and presses 1 to take it (accept/).
    A take that no longer stands hangs up the operator's leg."""
    operator_id = _operator(request)
    district_id = _district(request)
    call_sid, call_id = _caller_call(request)
    if operator_id is None or district_id is None or not call_sid or not call_id:
        return ivr.goodbye()
    try:
        with database_bounded():
            operator = _taking_operator(call_sid, call_id, operator_id)
        if operator is None:
            return ivr.goodbye()
        spoken = language_for_user(operator)
    except DatabaseError:  # the key press decides, and is written then
        log.warning("hotline_database_slow", path=request.path, exc_info=True)
        spoken = None
    return ivr.operator_whisper(
        spoken, operator_id=operator_id, district_id=district_id, call_sid=call_sid, call_id=call_id
    )


def _queue_accept(request: HttpRequest) -> str:
    """The operator answered the whisper: 1 takes the call (connected; Twilio then bridges the
    caller), anything else hangs up their leg. Only a take written as connected is put
    through: a database that cannot write it sends the caller back to the queue instead."""
    operator_id = _operator(request)
    call_sid, call_id = _caller_call(request)
    if request.POST.get("Digits", "") != "1" or operator_id is None or not call_sid:
        return ivr.goodbye()
    try:
        with database_bounded():
            call = services.call_operator_answered(call_sid=call_sid, operator_id=operator_id)
            operator = call.taken_by if call is not None else None
            spoken = language_for_user(operator) if operator is not None else None
    except DatabaseError:
        log.warning("hotline_database_slow", path=request.path, exc_info=True)
        return ivr.operator_not_connected(None)
    if call is None or call.state != CallState.CONNECTED or call.taken_by_id != operator_id:
        return ivr.operator_not_connected(spoken)
    return ivr.operator_connecting(spoken)


def _queue_dialled(request: HttpRequest) -> str:
    """The <Dial> to the operator ended: after a conversation, goodbye; a take the operator did
    not accept (no answer, busy, a voicemail box, no 1 pressed): back to the queue."""
    district_id = _district(request)
    operator_id = _operator(request)
    if district_id is None or operator_id is None:
        return _to_queue(request)
    try:
        with database_bounded():
            call = services.call_dial_ended(
                call_sid=request.POST.get("CallSid", ""),
                operator_id=operator_id,
                dial_status=request.POST.get("DialCallStatus", ""),
            )
    except DatabaseError:  # not knowing, the caller waits for a person again
        log.warning("hotline_database_slow", path=request.path, exc_info=True)
        return ivr.operator_unreachable(district_id)
    if call is not None and call.state == CallState.CONNECTED:
        return ivr.goodbye()
    emergency = call is not None and call.priority == CallPriority.EMERGENCY
    return ivr.operator_unreachable(district_id, emergency=emergency)


QUEUE_STEPS: dict[str, Answer] = {
    "wait": _queue_wait,
    "left": _queue_left,
    "recorded": _queue_recorded,
    "connect": _queue_connect,
    "answered": _queue_answered,
    "accept": _queue_accept,
    "dialled": _queue_dialled,
}
# Steps about the operator's leg of the call, not the caller's.
OPERATOR_LEG_STEPS = frozenset({"answered", "accept"})


def _status_request(request: HttpRequest) -> list[str]:
    sids = ("CallSid", "MessageSid", "SmsSid")
    has_sid = any(request.POST.get(name, "") for name in sids)
    return _bad_notification_id(request) + ([] if has_sid else ["CallSid"])


@twilio_webhook(_nothing, _status_request)
def status(request: HttpRequest) -> str:
    """Twilio's status callbacks: an inbound call's end for the hotline, and every outbound
    message's and call's delivery for the notification log."""
    params: QueryDict = request.POST
    call_sid, call_status = params.get("CallSid", ""), params.get("CallStatus", "")
    message_sid = params.get("MessageSid", "") or params.get("SmsSid", "")
    with database_bounded():
        if message_sid:
            sid = message_sid
            sid_status = params.get("MessageStatus", "") or params.get("SmsStatus", "")
        else:
            services.call_status_record(call_sid=call_sid, status=call_status)
            sid, sid_status = call_sid, call_status
        if sid and sid_status:
            delivery_status_record(
                sid=sid,
                status=sid_status,
                error_code=params.get("ErrorCode", ""),
                notification_id=_notification_id(request) if request.GET.get("n") else None,
            )
    return ivr.empty()


def _sms_fallback(request: HttpRequest) -> str:
    """The text could not be kept in time and Twilio does not send it again: telephony takes it
    off the webhook's clock (an urgent task, retried until the database answers)."""
    log.error("inbound_sms_written_late", message_sid=request.POST.get("MessageSid", ""))
    enqueue_after_commit(
        inbound_sms_take,
        from_number=request.POST.get("From", ""),
        to_number=request.POST.get("To", ""),
        body=request.POST.get("Body", ""),
        message_sid=request.POST.get("MessageSid", ""),
    )
    return str(messaging_response())


@twilio_webhook(_sms_fallback, lambda request: _missing(request, ("From",)))
def sms(request: HttpRequest) -> str:
    """An inbound text: kept and taken by telephony's handlers (a reply only where the carrier
    has two-way SMS, ANXIN["SMS_REPLIES"]); its MessageSid makes a replay answer nothing."""
    response = messaging_response()
    with database_bounded():
        reply = flows.sms_reply(
            request.POST.get("From", ""),
            request.POST.get("Body", ""),
            message_sid=request.POST.get("MessageSid", ""),
            to_number=request.POST.get("To", ""),
        )
    if reply:
        response.message(reply)
    return str(response)
