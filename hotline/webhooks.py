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
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, QueryDict
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from backend.core.i18n import language_for_user
from backend.telephony import flows
from backend.telephony.services import delivery_status_record
from backend.telephony.twilio_backend import messaging_response, signature_is_valid

from . import ivr, services
from .bounded import database_bounded
from .models import Call, CallPriority, CallState
from .numbers import district_for_number

log = structlog.get_logger(__name__)

Answer = Callable[[HttpRequest], str]


def _signed(request: HttpRequest) -> bool:
    url = settings.ANXIN_PUBLIC_URL + request.get_full_path()
    return signature_is_valid(url, request.POST, request.headers.get("X-Twilio-Signature", ""))


def twilio_webhook(fallback: Answer) -> Callable[[Answer], Callable[[HttpRequest], HttpResponse]]:
    """A view answering Twilio: POST only, no CSRF (Twilio signs instead), 403 unless signed;
    any failure inside is logged and answered with `fallback(request)`."""

    def decorate(answer: Answer) -> Callable[[HttpRequest], HttpResponse]:
        @csrf_exempt
        @require_POST
        @wraps(answer)
        def view(request: HttpRequest) -> HttpResponse:
            if not _signed(request):
                log.warning("twilio_signature_refused", path=request.path)
                return HttpResponseForbidden("Bad or missing X-Twilio-Signature")
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
    """Whatever went wrong, a hotline caller waits for a person."""
    district_id = _district(request)
    return ivr.not_in_service() if district_id is None else ivr.queue(district_id)


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


@twilio_webhook(_flows_fallback)
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


@twilio_webhook(_flows_fallback)
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
    if result.request is not None and result.queued:
        return ivr.queue(district_id, emergency=True)
    if result.request is None and result.queued:
        return ivr.queue(district_id, sorry=result.refused)
    return _answer_for(result.call)


QUEUE_LEFT = frozenset({"leave", "queue-full", "error", "system-error"})


@twilio_webhook(_to_queue)
def queue(request: HttpRequest) -> str:
    step = request.GET.get("step", "")
    handler = QUEUE_STEPS.get(step)
    if handler is None:
        log.error("hotline_queue_step_unknown", step=step[:20])
        return _to_queue(request)
    return handler(request)


def _queue_wait(request: HttpRequest) -> str:
    """Twilio asks while the caller waits: hold, or past HOTLINE_QUEUE_WAIT_S, leave the queue
    for voicemail. An emergency never goes to voicemail. A call the database could not write on
    arrival is written now."""
    waited = request.POST.get("QueueTime", "0")
    emergency = False
    district_id = _district(request)
    try:
        if district_id is not None:
            with database_bounded():
                call = services.call_queued_ensure(district_id=district_id, **_call_params(request))
            emergency = call.priority == CallPriority.EMERGENCY
    except DatabaseError:
        log.warning("hotline_database_slow", path=request.path, exc_info=True)
        return ivr.hold(emergency=False)  # not knowing, never send a caller away
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
    """An operator took the call (the platform redirected it here): ring their phone."""
    district_id = _district(request)
    operator_id = _operator(request)
    if district_id is None or operator_id is None:
        return _to_queue(request)
    with database_bounded():
        found = (
            Call.objects.select_related("taken_by")
            .filter(call_sid=request.POST.get("CallSid", ""))
            .first()
        )
    if found is None or found.taken_by_id != operator_id or found.taken_by is None:
        return ivr.operator_unreachable(district_id)
    phone = str(found.taken_by.phone or "")
    if not phone:
        return ivr.operator_unreachable(district_id)
    return ivr.dial_operator(phone=phone, operator_id=operator_id, district_id=district_id)


def _queue_answered(request: HttpRequest) -> str:
    """The operator's phone answered (this request is about the operator's leg): the caller is
    put through once the operator has heard what the call is."""
    operator_id = _operator(request)
    parent = request.POST.get("ParentCallSid", "")
    if operator_id is None or not parent:
        return ivr.operator_whisper()
    with database_bounded():
        call = services.call_operator_answered(call_sid=parent, operator_id=operator_id)
        operator = call.taken_by if call is not None else None
    return ivr.operator_whisper(language_for_user(operator))


def _queue_dialled(request: HttpRequest) -> str:
    """The operator's phone rang out (or the conversation ended)."""
    status = request.POST.get("DialCallStatus", "")
    if status in ("completed", "answered"):
        return ivr.goodbye()
    district_id = _district(request)
    if district_id is None:
        return ivr.not_in_service()
    try:
        with database_bounded():
            services.call_requeue(call_sid=request.POST.get("CallSid", ""), dial_status=status)
    except DatabaseError:
        log.warning("hotline_database_slow", path=request.path, exc_info=True)
    return ivr.operator_unreachable(district_id)


QUEUE_STEPS: dict[str, Answer] = {
    "wait": _queue_wait,
    "left": _queue_left,
    "recorded": _queue_recorded,
    "connect": _queue_connect,
    "answered": _queue_answered,
    "dialled": _queue_dialled,
}


@twilio_webhook(_nothing)
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


@twilio_webhook(lambda request: str(messaging_response()))
def sms(request: HttpRequest) -> str:
    """An inbound text: telephony's handlers answer it (a reply only where the carrier has
    two-way SMS, ANXIN["SMS_REPLIES"])."""
    response = messaging_response()
    with database_bounded():
        reply = flows.sms_reply(request.POST.get("From", ""), request.POST.get("Body", ""))
    if reply:
        response.message(reply)
    return str(response)
