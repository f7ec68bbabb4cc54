"""Writes of the hotline. Every change of a call's or call-back's state goes through `_call_move`
or `_call_back_move`: lock held by the caller, the table checked, the row saved, an audit row
written (backend/core/events.py, pushed to the district's staff after commit)."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import DomainError, NotFound, RuleViolation, StateConflict
from backend.core.events import event_record
from backend.core.models import Event
from backend.telephony.backends import get_backend, hook_url
from backend.telephony.errors import ProviderError
from backend.telephony.services import CALL_FINAL_STATUSES
from dispatch.escalation import alert_raise, alerts_resolve_kind
from dispatch.models import ServiceRequest, ServiceType
from dispatch.services import service_request_create
from elders.models import Elder, ElderStatus
from elders.selectors import elder_caller_card, elders_matching_phone, phone_to_e164

from .models import Call, CallBack, CallBackState, CallOutcome, CallPriority, CallState
from .transitions import call_back_next_state, call_next_state

log = structlog.get_logger(__name__)

# The menu: a key, the service catalogue's code (dispatch/catalogue.py). 0 is the operator.
MENU_SERVICES = {
    "1": "meal",
    "2": "cleaning",
    "3": "bathing",
    "4": "medical",
    "5": "escort",
    "9": "emergency",
}
OPERATOR_KEY = "0"
EMERGENCY_KEY = "9"


class CallNotFound(NotFound):
    """404: no such call, or not one of the caller's district."""


class TelephonyUnavailable(DomainError):
    """503: Twilio did not take the instruction (the caller may have hung up meanwhile):
    nothing changed."""

    status_code = 503
    default_code = "telephony_unavailable"


def _lock_call(*, call_sid: str = "", call_id: int = 0) -> Call | None:
    qs = Call.objects.select_for_update(of=("self",))
    return (qs.filter(call_sid=call_sid) if call_sid else qs.filter(pk=call_id)).first()


def _call_move(
    call: Call,
    event: str,
    *,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """Precondition: the caller holds the call's row lock."""
    before = call.state
    after = call_next_state(before, event)
    if after is None:
        raise StateConflict(
            _("Cannot %(event)s a call that is %(state)s") % {"event": event, "state": before},
            current_state=before,
            code="call_state_conflict",
        )
    call.state = after
    for name, value in fields.items():
        setattr(call, name, value)
    call.save(update_fields=["state", *fields])
    event_record(
        kind=f"call.{after}",
        subject_type="call",
        subject_id=call.pk,
        actor=actor,
        before=before,
        after=after,
        district_id=call.district_id,
        data={"event": event, "priority": call.priority, **(data or {})},
    )


def call_arrive(*, call_sid: str, from_number: str, to_number: str, district_id: int) -> Call:
    """A call reached a district's hotline: its row, the elders its number matches in the
    district, and the screen pop (`call.ringing`) to the district's staff. Twilio may ask
    again (a retried webhook): the second time returns the first row."""
    with transaction.atomic():
        existing = Call.objects.filter(call_sid=call_sid).first()
        if existing is not None:
            return existing
        call = Call.objects.create(
            call_sid=call_sid,
            from_number=from_number[:32],
            to_number=to_number[:32],
            district_id=district_id,
        )
        found = elders_matching_phone(
            elders=Elder.objects.filter(district_id=district_id, status=ElderStatus.ACTIVE),
            phone=from_number,
        )
        call.elders.set([elder for elder, _ in found])
        event_record(
            kind="call.ringing",
            subject_type="call",
            subject_id=call.pk,
            after=call.state,
            district_id=district_id,
            data={
                "call": call.pk,
                "from": call.from_number,
                "to": call.to_number,
                "elders": [elder_caller_card(elder, how) for elder, how in found],
            },
        )
        return call


def call_menu_offer(*, call_id: int) -> Call:
    with transaction.atomic():
        call = _locked(call_id)
        if call.state == CallState.RINGING:
            _call_move(call, "menu")
        return call


def call_enqueue(*, call_id: int, emergency: bool = False, reason: str = "") -> Call:
    """Into the district's operator queue; an emergency goes ahead of everyone else in the
    operators' list. A call already waiting is left as it is."""
    with transaction.atomic():
        call = _locked(call_id)
        if call.state in (CallState.RINGING, CallState.MENU):
            priority = CallPriority.EMERGENCY if emergency else call.priority
            now = timezone.now()
            _call_move(
                call,
                "enqueue",
                data={"reason": reason},
                priority=priority,
                queued_at=now,
                last_wait_at=now,
            )
        return call


def call_queued_ensure(
    *, call_sid: str, from_number: str, to_number: str, district_id: int
) -> Call:
    """Twilio reports a caller waiting in the queue (it asks the wait URL again every hold
    loop): the call's row says so, even if the database could not be written when the call
    arrived (the caller was queued anyway), and when it was last heard of (`last_wait_at`: a
    caller who hung up is no longer asked for, `calls_gone`)."""
    call = call_arrive(
        call_sid=call_sid, from_number=from_number, to_number=to_number, district_id=district_id
    )
    if call.state in (CallState.RINGING, CallState.MENU):
        call = call_enqueue(call_id=call.pk, reason="found_waiting")
    elif call.state in (CallState.ENDED, *TAKEN_STATES):
        call = _call_waiting_again(call.pk)
    call.last_wait_at = timezone.now()
    Call.objects.filter(pk=call.pk).update(last_wait_at=call.last_wait_at)
    return call


# A wait request this long after a take is the caller back in Twilio's queue, not one already
# on its way when the operator took the call.
WAIT_AFTER_TAKE = timedelta(seconds=10)


def _call_waiting_again(call_id: int) -> Call:
    """A wait request is proof the caller holds in the queue: a call the sweep ended as gone
    (its wait requests not written meanwhile) goes back to the operators' list, its call-back
    cancelled; a take whose conversation or connection is over without the platform hearing of
    it (the <Dial>'s end not written) goes back to the queue. Either way an emergency's
    operators are alerted again."""
    with transaction.atomic():
        call = _locked(call_id)
        if call.state == CallState.ENDED and _ended_by_sweep(call):
            _call_move(
                call,
                "resume",
                data={"reason": "wait_request"},
                outcome="",
                ended_at=None,
                last_wait_at=timezone.now(),
            )
            back = CallBack.objects.select_for_update(of=("self",)).filter(call=call).first()
            if back is not None and call_back_next_state(back.state, "cancel") is not None:
                _call_back_move(back, "cancel", actor=None, data={"reason": "caller_waiting"})
            _caller_waiting_alert(call, reason="wait_request")
        elif (
            call.state in TAKEN_STATES
            and call.taken_at is not None
            and call.taken_at < timezone.now() - WAIT_AFTER_TAKE
        ):
            _requeue(call, reason="wait_request")
        return call


def _ended_by_sweep(call: Call) -> bool:
    """The call's last end was the sweep's (no wait request heard), not Twilio's report."""
    last = (
        Event.objects.filter(subject_type="call", subject_id=call.pk, kind="call.ended")
        .order_by("-pk")
        .values_list("data", flat=True)
        .first()
    )
    return isinstance(last, dict) and last.get("status") == SWEEP_GONE


def call_emergency_ensure(
    *, call_sid: str, from_number: str, to_number: str, district_id: int
) -> Call:
    """The caller pressed 9 and the menu could not write it then (the database was slow; the
    caller was queued as an emergency anyway): the emergency request and its `caller_waiting`
    alert now, once per call whatever asks again (the urgent task, each wait-URL request). A
    call already recorded as an emergency is left as it is."""
    call = call_arrive(
        call_sid=call_sid, from_number=from_number, to_number=to_number, district_id=district_id
    )
    with transaction.atomic():
        call = _locked(call.pk)
        if call.priority == CallPriority.EMERGENCY:
            return call
        if call_next_state(call.state, "emergency") is None:
            log.error("hotline_emergency_too_late", call=call.pk, state=call.state)
            return call
        call.menu_path = (call.menu_path + EMERGENCY_KEY)[:40]
        call.save(update_fields=["menu_path"])
        _emergency_record(call, reason="emergency_written_late")
        return call


def _emergency_record(call: Call, *, reason: str) -> ServiceRequest | None:
    """Precondition: the caller holds the call's lock. 9: the emergency request for the one
    elder the number matched (through dispatch's intake), the call first in the operators'
    list, and the operators alerted at once (`caller_waiting`, re-sent until someone answers
    for it). Intake refusing (or not one elder): still an emergency in the list, no request."""
    elders = list(call.elders.all()[:2])
    sr = _request_from_menu(call, elders[0], "emergency") if len(elders) == 1 else None
    now = timezone.now()
    _call_move(
        call,
        "emergency",
        data={"reason": reason if sr is not None else "intake_refused", "request": sr and sr.pk},
        priority=CallPriority.EMERGENCY,
        request=sr,
        queued_at=call.queued_at or now,
        last_wait_at=call.last_wait_at or now,
    )
    if sr is not None:
        alert_raise(sr, "caller_waiting", data={"call": call.pk})
    return sr


@dataclass(frozen=True)
class MenuResult:
    """What the menu did with a key: a work order created (`request`), the operator queue
    (`queued`), or neither (`repeat`: an unknown key, the menu again)."""

    call: Call
    request: ServiceRequest | None = None
    queued: bool = False
    repeat: bool = False
    refused: bool = False


def call_menu_choose(*, call_sid: str, digits: str) -> MenuResult:
    """A key pressed in the menu (or none: `digits` empty). A service key creates the work
    order with channel `ivr` through dispatch's intake, for the one elder the number matched;
    9 creates an emergency and queues the caller ahead of everyone; 0, no key, a second
    unknown key, or a request intake refuses: the operator queue."""
    with transaction.atomic():
        call = _lock_call(call_sid=call_sid)
        if call is None:
            raise CallNotFound(_("No such call"))
        if call.state != CallState.MENU:
            return MenuResult(call=call, queued=call.state == CallState.QUEUED)
        key = digits[:1]
        call.menu_path = (call.menu_path + (key or "-"))[:40]
        call.save(update_fields=["menu_path"])
        elders = list(call.elders.all()[:2])
        if key == EMERGENCY_KEY and len(elders) == 1:
            sr = _emergency_record(call, reason="emergency")
            return MenuResult(call=call, request=sr, queued=True, refused=sr is None)
        code = MENU_SERVICES.get(key)
        if code is None or len(elders) != 1:
            if key and key != OPERATOR_KEY and len(call.menu_path) < 2 and len(elders) == 1:
                return MenuResult(call=call, repeat=True)
            reason = "operator" if key == OPERATOR_KEY else ("no_input" if not key else "unknown")
            now = timezone.now()
            _call_move(call, "enqueue", data={"reason": reason}, queued_at=now, last_wait_at=now)
            return MenuResult(call=call, queued=True)
        sr = _request_from_menu(call, elders[0], code)
        if sr is None:  # a person takes it from here
            now = timezone.now()
            _call_move(
                call,
                "enqueue",
                data={"reason": "intake_refused"},
                queued_at=now,
                last_wait_at=now,
            )
            return MenuResult(call=call, queued=True, refused=True)
        _call_move(
            call,
            "serve",
            data={"request": sr.pk, "reference": sr.reference},
            request=sr,
            outcome=CallOutcome.REQUEST_CREATED,
        )
        return MenuResult(call=call, request=sr)


def _request_from_menu(call: Call, elder: Elder, code: str) -> ServiceRequest | None:
    """The work order, through the same intake as an operator's; None (logged) when intake
    refuses it, so that the caller reaches a person instead."""
    service_type = ServiceType.objects.filter(code=code).first()
    if service_type is None:
        log.error("hotline_service_missing", code=code, call=call.pk)
        return None
    try:
        with transaction.atomic():
            return service_request_create(
                elder=elder, service_type=service_type, channel="ivr", caller=None
            )
    except DomainError as refused:
        log.warning("hotline_request_refused", call=call.pk, code=refused.error_code)
        return None


def operator_phone_required(user: User, *, message: str, field_message: str) -> str:
    """The operator's registered phone (E.164), which the platform rings to put them through to
    someone (a waiting caller, an elder called back); 422 `operator_phone_missing` naming
    `phone` without one. The messages say what the phone is needed for."""
    if not user.phone:
        raise RuleViolation(
            message, code="operator_phone_missing", fields={"phone": [field_message]}
        )
    return str(user.phone.as_e164)


def call_take(*, call_id: int, user: User) -> Call:
    """An operator takes a waiting call: the first take wins (the row lock). The take commits
    first, and only then is Twilio told (no lock held while it answers) to bring the caller to
    `queue/?step=connect`, which rings the operator's registered phone; Twilio refusing puts
    the call back in the queue (`call_requeue`) and raises TelephonyUnavailable. Run outside
    any transaction: Twilio may ask `connect` before a transaction around this one commits.

    The same operator asking again (a retried request) gets the take as it stands, and Twilio
    is not asked twice."""
    with transaction.atomic():
        call = _lock_call(call_id=call_id)
        if call is None or call.district_id != user.staff_district_id:
            raise CallNotFound(_("No such call in your district"))
        if call.taken_by_id == user.pk and call.state in TAKEN_STATES:
            return call
        operator_phone_required(
            user,
            message=_("Register your phone number first: the caller is connected to it"),
            field_message=_("required to take calls"),
        )
        if call.state != CallState.QUEUED:
            taker = call.taken_by.username if call.taken_by_id and call.taken_by else ""
            raise StateConflict(
                _("This call is already %(state)s by %(user)s")
                % {"state": call.state, "user": taker}
                if taker
                else _("This call is already %(state)s") % {"state": call.state},
                current_state=call.state,
                code="call_taken" if call.taken_by_id else "call_state_conflict",
            )
        _call_move(
            call,
            "take",
            actor=user,
            data={"taken_by": user.username},
            taken_by=user,
            taken_at=timezone.now(),
        )
    emergency = {"e": 1} if call.priority == CallPriority.EMERGENCY else {}
    url = hook_url("queue", step="connect", op=user.pk, d=call.district_id, **emergency)
    try:
        get_backend().redirect_call(call_sid=call.call_sid, url=url)
    except ProviderError as error:  # Twilio refused: the caller is still where they were
        log.warning("hotline_redirect_failed", call=call.pk, exc_info=True)
        call_requeue(
            call_sid=call.call_sid,
            operator_id=user.pk,
            reason="redirect_refused",
            only_from=CallState.CONNECTING,
        )
        raise TelephonyUnavailable(
            _(
                "The telephone network did not take the call through; it is still waiting "
                "(or the caller hung up). Try again."
            ),
            current_state=CallState.QUEUED,
        ) from error
    except Exception as error:  # no answer in time: Twilio may have moved the caller all the same
        log.warning("hotline_redirect_unknown", call=call.pk, exc_info=True)
        raise TelephonyUnavailable(
            _(
                "The telephone network did not answer in time: your phone may still ring. If "
                "it does not, the call goes back to the waiting list by itself."
            ),
            current_state=CallState.CONNECTING,
        ) from error
    return call


# Taken by an operator: their phone ringing, or talking.
TAKEN_STATES = frozenset({CallState.CONNECTING, CallState.CONNECTED})


def call_connecting_phone(*, call_sid: str, operator_id: int) -> str | None:
    """Twilio brought a taken call to `connect`: the phone to ring if the call is still being
    connected to that operator (and they have one); otherwise the caller goes back to the
    queue, and None."""
    with transaction.atomic():
        call = _lock_call(call_sid=call_sid)
        if call is None:
            return None
        phone = str(call.taken_by.phone or "") if call.taken_by is not None else ""
        if call.state == CallState.CONNECTING and call.taken_by_id == operator_id and phone:
            return phone
        if call.state in TAKEN_STATES:
            _requeue(call, reason="not_taken_by_this_operator" if phone else "no_phone")
        elif call.state in (CallState.RINGING, CallState.MENU):
            now = timezone.now()
            _call_move(
                call, "enqueue", data={"reason": "redirected"}, queued_at=now, last_wait_at=now
            )
        return None


def call_operator_answered(*, call_sid: str, operator_id: int) -> Call | None:
    """The operator pressed 1 on hearing what the call is (call screening: a voicemail box or
    an unheard ring does not): caller and operator are put through, and the operator answers
    for the `caller_waiting` alert of an emergency."""
    with transaction.atomic():
        call = _lock_call(call_sid=call_sid)
        if call is None or call.taken_by_id != operator_id or call.taken_by is None:
            return call
        if call.state == CallState.CONNECTING:
            _call_move(call, "connect", answered_at=timezone.now())
            if call.request is not None:
                alerts_resolve_kind(
                    call.request,
                    "caller_waiting",
                    user=call.taken_by,
                    resolution="caller_answered",
                    note=f"call {call.pk}",
                )
        return call


def call_dial_ended(*, call_sid: str, operator_id: int, dial_status: str) -> Call | None:
    """The <Dial> to the operator's phone ended. A call the operator accepted (connected) has
    had its conversation; one still being connected was not accepted (no answer, busy, a
    voicemail box, no key pressed): back to the queue."""
    with transaction.atomic():
        call = _lock_call(call_sid=call_sid)
        if (
            call is not None
            and call.state == CallState.CONNECTING
            and call.taken_by_id == operator_id
        ):
            _requeue(call, reason="not_accepted", dial_status=dial_status)
        return call


def call_requeue(
    *, call_sid: str, operator_id: int | None, reason: str, only_from: str | None = None
) -> Call | None:
    """The take of `operator_id` (anyone's: None) does not stand: back to the queue (only from
    the state `only_from` when given)."""
    with transaction.atomic():
        call = _lock_call(call_sid=call_sid)
        if call is None or call.state not in TAKEN_STATES:
            return call
        if only_from is not None and call.state != only_from:
            return call
        if operator_id is None or call.taken_by_id == operator_id:
            _requeue(call, reason=reason)
        return call


def _requeue(call: Call, *, reason: str, dial_status: str = "") -> None:
    """Precondition: the caller holds the call's lock. Back in the operators' list, ahead as its
    first queue time and priority say; nobody holds it any more; an emergency's operators are
    alerted again (`caller_waiting`), as nobody answers for it now."""
    _call_move(
        call,
        "requeue",
        data={"reason": reason, "dial_status": dial_status[:20], "was_taken_by": call.taken_by_id},
        taken_by=None,
        taken_at=None,
        last_wait_at=timezone.now(),
    )
    _caller_waiting_alert(call, reason=reason)


def _caller_waiting_alert(call: Call, *, reason: str) -> None:
    if call.request_id is not None:
        sr = ServiceRequest.objects.select_for_update(of=("self",)).get(pk=call.request_id)
        alert_raise(sr, "caller_waiting", data={"call": call.pk, "again": reason})


def call_voicemail(*, call_sid: str) -> Call | None:
    """Nobody took the call in time: the caller may leave a message."""
    with transaction.atomic():
        call = _lock_call(call_sid=call_sid)
        if call is not None and call.state == CallState.QUEUED:
            _call_move(call, "voicemail", last_wait_at=timezone.now())
        return call


def call_message_record(
    *, call_sid: str, recording_sid: str, recording_url: str, duration_s: int | None
) -> CallBack | None:
    """The caller left a message: the call-back task for the district's operators, with the
    recording's reference. Twilio may report it after the call ended (the caller hung up to
    finish, and the end may already have opened the task): one task per call, with the
    message."""
    with transaction.atomic():
        call = _lock_call(call_sid=call_sid)
        if call is None:
            return None
        if call.recording_sid or call_next_state(call.state, "message") is None:
            return CallBack.objects.filter(call=call).first()
        _call_move(
            call,
            "message",
            data={"recording_sid": recording_sid[:64], "duration_s": duration_s},
            recording_sid=recording_sid[:64],
            recording_url=recording_url[:500],
            recording_duration_s=duration_s,
            outcome=CallOutcome.VOICEMAIL,
        )
        return _call_back_open(call, reason="message")


def _call_back_open(call: Call, *, reason: str) -> CallBack | None:
    """Precondition: the caller holds the call's lock. The call's one call-back task (an
    operator calls the number back, with the elders it matched); None for a number that cannot
    be called back."""
    existing = CallBack.objects.select_for_update(of=("self",)).filter(call=call).first()
    if existing is not None:
        if existing.state == CallBackState.CANCELLED:
            _call_back_move(
                existing,
                "reopen",
                actor=None,
                data={"reason": reason},
                taken_by=None,
                taken_at=None,
            )
        return existing
    if phone_to_e164(call.from_number) is None:
        log.warning("hotline_call_back_no_number", call=call.pk, reason=reason)
        return None
    back = CallBack.objects.create(
        call=call, district_id=call.district_id, from_number=call.from_number
    )
    event_record(
        kind="callback.open",
        subject_type="callback",
        subject_id=back.pk,
        after=back.state,
        district_id=call.district_id,
        data={
            "call": call.pk,
            "reason": reason,
            "from": call.from_number,
            "recording_sid": call.recording_sid,
            "elders": list(call.elders.values_list("pk", flat=True)),
        },
    )
    return back


# Waiting for a person: a caller who ends the call in one of these without being answered is
# called back.
WAITED_STATES = frozenset({CallState.QUEUED, CallState.CONNECTING, CallState.VOICEMAIL})


def call_status_record(*, call_sid: str, status: str) -> Call | None:
    """Twilio's status callback for an inbound call: a final status ends it, with the outcome
    its last state says. Another status, or an unknown call, changes nothing."""
    if status not in CALL_FINAL_STATUSES:
        return None
    with transaction.atomic():
        call = _lock_call(call_sid=call_sid)
        if call is None or call.state == CallState.ENDED:
            return call
        _end(call, reason=status, outcome=call.outcome or _outcome_at_end(call.state, status))
        return call


def _end(call: Call, *, reason: str, outcome: str) -> None:
    """Precondition: the caller holds the call's lock. A caller who waited for a person and
    was not answered (hung up in the queue, left no message) is called back."""
    waited = call.state in WAITED_STATES
    _call_move(
        call,
        "end",
        data={"status": reason, "outcome": outcome},
        outcome=outcome,
        ended_at=timezone.now(),
    )
    if waited and outcome != CallOutcome.ANSWERED:
        _call_back_open(call, reason="hung_up_waiting")


def _outcome_at_end(state: str, status: str) -> str:
    if status != "completed":
        return CallOutcome.FAILED
    return {
        CallState.SERVED: CallOutcome.REQUEST_CREATED,
        CallState.CONNECTED: CallOutcome.ANSWERED,
    }.get(CallState(state), CallOutcome.ABANDONED)


# The sweep (hotline.tasks.calls_sweep): what Twilio's lost callbacks left behind -------------


def gone_after() -> timedelta:
    """Twilio asks the wait URL once per hold loop (the words, then HOTLINE_HOLD_PAUSE_S): a
    queued caller not asked for in two loops has hung up, its status callback lost."""
    return timedelta(seconds=2 * (int(settings.ANXIN["HOTLINE_HOLD_PAUSE_S"]) + 15))


def connecting_stale_after() -> timedelta:
    """Longer than the operator's phone rings and the operator has to press 1, with margin: a
    call still being connected then lost the <Dial>'s end (its action request failed)."""
    anxin = settings.ANXIN
    ring = int(anxin["HOTLINE_DIAL_TIMEOUT_S"]) + int(anxin["HOTLINE_SCREEN_TIMEOUT_S"])
    return timedelta(seconds=ring + 30)


def calls_gone() -> QuerySet[Call]:
    """Queued calls whose caller Twilio no longer asks the wait URL for."""
    heard = Coalesce("last_wait_at", "queued_at")
    return (
        Call.objects.filter(state=CallState.QUEUED)
        .alias(heard=heard)
        .filter(heard__lt=timezone.now() - gone_after())
        .order_by("queued_at")
    )


def voicemail_stale_after() -> timedelta:
    """Longer than the longest message, with margin: a call still leaving one then lost its
    end (the status callback) and its recording (a silent message reports none)."""
    return timedelta(seconds=int(settings.ANXIN["HOTLINE_MESSAGE_MAX_S"]) + 60)


def calls_voicemail_stale() -> QuerySet[Call]:
    """Calls in voicemail (`last_wait_at`: when they went there) past any message's end."""
    heard = Coalesce("last_wait_at", "queued_at")
    return (
        Call.objects.filter(state=CallState.VOICEMAIL)
        .alias(heard=heard)
        .filter(heard__lt=timezone.now() - voicemail_stale_after())
        .order_by("queued_at")
    )


def call_voicemail_end(*, call_id: int) -> bool:
    """A call whose message is long over and whose end nobody reported: ended, called back (a
    message that came keeps its outcome and its task)."""
    with transaction.atomic():
        found = (
            calls_voicemail_stale()
            .select_for_update(skip_locked=True, of=("self",))
            .filter(pk=call_id)
            .first()
        )
        if found is None:
            return False
        _end(found, reason="voicemail_over", outcome=found.outcome or CallOutcome.ABANDONED)
        return True


def calls_connecting_stale() -> QuerySet[Call]:
    return Call.objects.filter(
        state=CallState.CONNECTING, taken_at__lt=timezone.now() - connecting_stale_after()
    ).order_by("taken_at")


SWEEP_GONE = "no_wait_request"


def call_gone_end(*, call_id: int) -> bool:
    """A queued caller gone without a word (the status callback lost): ended, abandoned, and
    called back. False if the call was heard from meanwhile, or is locked."""
    with transaction.atomic():
        call = calls_gone().select_for_update(skip_locked=True, of=("self",)).filter(pk=call_id)
        found = call.first()
        if found is None:
            return False
        _end(found, reason=SWEEP_GONE, outcome=CallOutcome.ABANDONED)
        return True


def call_connecting_stale_requeue(*, call_id: int) -> bool:
    """A take whose <Dial> never reported its end: back to the queue (where the caller is once
    Twilio's dial is over)."""
    with transaction.atomic():
        found = (
            calls_connecting_stale()
            .select_for_update(skip_locked=True, of=("self",))
            .filter(pk=call_id)
            .first()
        )
        if found is None:
            return False
        _requeue(found, reason="connect_timed_out")
        return True


def _locked(call_id: int) -> Call:
    call = _lock_call(call_id=call_id)
    if call is None:
        raise CallNotFound(_("No such call"))
    return call


# Call-back tasks ----------------------------------------------------------------------------


def _call_back_move(
    back: CallBack,
    event: str,
    *,
    actor: User | None,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """Precondition: the caller holds the task's row lock."""
    before = back.state
    after = call_back_next_state(before, event)
    if after is None:
        who = back.closed_by or back.taken_by
        raise StateConflict(
            _("This call-back is already %(state)s by %(user)s")
            % {"state": before, "user": who.username}
            if who
            else _("This call-back is already %(state)s") % {"state": before},
            current_state=before,
            code="call_back_state_conflict",
        )
    back.state = after
    for name, value in fields.items():
        setattr(back, name, value)
    back.save(update_fields=["state", *fields])
    event_record(
        kind=f"callback.{after}",
        subject_type="callback",
        subject_id=back.pk,
        actor=actor,
        before=before,
        after=after,
        district_id=back.district_id,
        data={
            "call": back.call_id,
            "sms": back.sms_id,
            "by": actor.username if actor else "",
            **(data or {}),
        },
    )


def _lock_call_back(*, call_back_id: int, user: User) -> CallBack:
    back = (
        CallBack.objects.select_for_update(of=("self",))
        .select_related("taken_by", "closed_by")
        .filter(pk=call_back_id, district_id=user.staff_district_id)
        .first()
    )
    if back is None:
        raise NotFound(_("No such call-back in your district"), code="not_found")
    return back


def call_back_take(*, call_back_id: int, user: User) -> CallBack:
    """A named operator takes the call-back: nobody else calls the same person back."""
    with transaction.atomic():
        back = _lock_call_back(call_back_id=call_back_id, user=user)
        _call_back_move(back, "take", actor=user, taken_by=user, taken_at=timezone.now())
        return back


def call_back_close(*, call_back_id: int, user: User, note: str) -> CallBack:
    """Closed by whoever called back, with what came of it; only the operator who took it may
    close it (closing one nobody took takes it too)."""
    with transaction.atomic():
        back = _lock_call_back(call_back_id=call_back_id, user=user)
        if back.state == CallBackState.TAKEN and back.taken_by_id != user.pk:
            raise StateConflict(
                _("Taken by %(user)s")
                % {"user": back.taken_by.username if back.taken_by else _("someone else")},
                current_state=back.state,
                code="call_back_taken",
            )
        now = timezone.now()
        taken = {} if back.taken_by_id else {"taken_by": user, "taken_at": now}
        _call_back_move(
            back,
            "close",
            actor=user,
            data={"note": note},
            closed_by=user,
            closed_at=now,
            note=note,
            **taken,
        )
        return back
