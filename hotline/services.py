"""Writes of the hotline. Every change of a call's or call-back's state goes through `_call_move`
or `_call_back_move`: lock held by the caller, the table checked, the row saved, an audit row
written (backend/core/events.py, pushed to the district's staff after commit)."""

from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import DomainError, NotFound, RuleViolation, StateConflict
from backend.core.events import event_record
from backend.telephony.backends import get_backend
from dispatch.escalation import alert_raise, alerts_resolve_kind
from dispatch.models import ServiceRequest, ServiceType
from dispatch.services import service_request_create
from elders.models import Elder, ElderStatus
from elders.selectors import elder_caller_card, elders_matching_phone

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
            _call_move(
                call,
                "enqueue",
                data={"reason": reason},
                priority=priority,
                queued_at=timezone.now(),
            )
        return call


def call_queued_ensure(
    *, call_sid: str, from_number: str, to_number: str, district_id: int
) -> Call:
    """Twilio reports a caller waiting in the queue: the call's row says so, even if the
    database could not be written when the call arrived (the caller was queued anyway)."""
    call = call_arrive(
        call_sid=call_sid, from_number=from_number, to_number=to_number, district_id=district_id
    )
    if call.state in (CallState.RINGING, CallState.MENU):
        call = call_enqueue(call_id=call.pk, reason="found_waiting")
    return call


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
        code = MENU_SERVICES.get(key)
        if code is None or len(elders) != 1:
            if key and key != OPERATOR_KEY and len(call.menu_path) < 2 and len(elders) == 1:
                return MenuResult(call=call, repeat=True)
            reason = "operator" if key == OPERATOR_KEY else ("no_input" if not key else "unknown")
            _call_move(call, "enqueue", data={"reason": reason}, queued_at=timezone.now())
            return MenuResult(call=call, queued=True)
        sr = _request_from_menu(call, elders[0], code)
        if sr is None:  # a person takes it from here, an emergency still ahead of the rest
            _call_move(
                call,
                "enqueue",
                data={"reason": "intake_refused"},
                queued_at=timezone.now(),
                priority=CallPriority.EMERGENCY if key == EMERGENCY_KEY else call.priority,
            )
            return MenuResult(call=call, queued=True, refused=True)
        if key == EMERGENCY_KEY:
            _call_move(
                call,
                "enqueue",
                data={"reason": "emergency", "request": sr.pk},
                priority=CallPriority.EMERGENCY,
                queued_at=timezone.now(),
                request=sr,
            )
            # The operators are alerted at once (re-sent until someone answers for it), beside
            # the call heading their list.
            alert_raise(sr, "caller_waiting", data={"call": call.pk})
            return MenuResult(call=call, request=sr, queued=True)
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


def call_take(*, call_id: int, user: User) -> Call:
    """An operator takes a waiting call: the first take wins (the row lock), and Twilio is told
    to connect the caller to the operator's registered phone before the take commits, so a
    take that Twilio refused leaves the call waiting for someone else."""
    with transaction.atomic():
        call = _lock_call(call_id=call_id)
        if call is None or call.district_id != user.staff_district_id:
            raise CallNotFound(_("No such call in your district"))
        if not user.phone:
            raise RuleViolation(
                _("Register your phone number first: the caller is connected to it"),
                code="operator_phone_missing",
                fields={"phone": [_("required to take calls")]},
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
        if call.request is not None:
            alerts_resolve_kind(
                call.request,
                "caller_waiting",
                user=user,
                resolution="caller_answered",
                note=f"call {call.pk}",
            )
        url = f"{settings.ANXIN_PUBLIC_URL}/hooks/twilio/queue/?step=connect&op={user.pk}"
        try:
            get_backend().redirect_call(call_sid=call.call_sid, url=url)
        except Exception as error:  # Twilio's answer, whatever it is: the take does not stand
            log.warning("hotline_redirect_failed", call=call.pk, exc_info=True)
            raise TelephonyUnavailable(
                _(
                    "The telephone network did not take the call through; it is still waiting "
                    "(or the caller hung up). Try again."
                ),
                current_state=CallState.QUEUED,
            ) from error
        return call


def call_operator_answered(*, call_sid: str, operator_id: int) -> Call | None:
    """The operator's phone picked up: caller and operator are being bridged."""
    with transaction.atomic():
        call = _lock_call(call_sid=call_sid)
        if call is None or call.taken_by_id != operator_id:
            return call
        if call.state == CallState.CONNECTING:
            _call_move(call, "connect", answered_at=timezone.now())
        return call


def call_requeue(*, call_sid: str, dial_status: str) -> Call | None:
    """The operator's phone did not answer (or dropped): back to the queue, first in line
    beside its priority as it keeps its first queue time; nobody holds it any more."""
    with transaction.atomic():
        call = _lock_call(call_sid=call_sid)
        if call is None or call.state not in (CallState.CONNECTING, CallState.CONNECTED):
            return call
        _call_move(
            call,
            "requeue",
            data={"dial_status": dial_status[:20], "was_taken_by": call.taken_by_id},
            taken_by=None,
            taken_at=None,
        )
        return call


def call_voicemail(*, call_sid: str) -> Call | None:
    """Nobody took the call in time: the caller may leave a message."""
    with transaction.atomic():
        call = _lock_call(call_sid=call_sid)
        if call is not None and call.state == CallState.QUEUED:
            _call_move(call, "voicemail")
        return call


def call_message_record(
    *, call_sid: str, recording_sid: str, recording_url: str, duration_s: int | None
) -> CallBack | None:
    """The caller left a message: the call-back task for the district's operators, with the
    recording's reference. Twilio may report it after the call ended (the caller hung up to
    finish): the task is made all the same, once."""
    with transaction.atomic():
        call = _lock_call(call_sid=call_sid)
        if call is None:
            return None
        existing = CallBack.objects.filter(call=call).first()
        if existing is not None:
            return existing
        call.recording_sid = recording_sid[:64]
        call.recording_url = recording_url[:500]
        call.recording_duration_s = duration_s
        call.outcome = CallOutcome.VOICEMAIL
        call.save(
            update_fields=["recording_sid", "recording_url", "recording_duration_s", "outcome"]
        )
        back = CallBack.objects.create(call=call, district_id=call.district_id)
        event_record(
            kind="callback.open",
            subject_type="callback",
            subject_id=back.pk,
            after=back.state,
            district_id=call.district_id,
            data={
                "call": call.pk,
                "from": call.from_number,
                "recording_sid": call.recording_sid,
                "elders": list(call.elders.values_list("pk", flat=True)),
            },
        )
        return back


# Twilio's final CallStatus values.
CALL_FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def call_status_record(*, call_sid: str, status: str) -> Call | None:
    """Twilio's status callback for an inbound call: a final status ends it, with the outcome
    its last state says. Another status, or an unknown call, changes nothing."""
    if status not in CALL_FINAL_STATUSES:
        return None
    with transaction.atomic():
        call = _lock_call(call_sid=call_sid)
        if call is None or call.state == CallState.ENDED:
            return call
        outcome = call.outcome or _outcome_at_end(call.state, status)
        _call_move(
            call,
            "end",
            data={"status": status, "outcome": outcome},
            outcome=outcome,
            ended_at=timezone.now(),
        )
        return call


def _outcome_at_end(state: str, status: str) -> str:
    if status != "completed":
        return CallOutcome.FAILED
    return {
        CallState.SERVED: CallOutcome.REQUEST_CREATED,
        CallState.CONNECTED: CallOutcome.ANSWERED,
    }.get(CallState(state), CallOutcome.ABANDONED)


def _locked(call_id: int) -> Call:
    call = _lock_call(call_id=call_id)
    if call is None:
        raise CallNotFound(_("No such call"))
    return call


# Call-back tasks ----------------------------------------------------------------------------


def _call_back_move(
    back: CallBack, event: str, *, actor: User, data: dict[str, Any] | None = None, **fields: Any
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
        data={"call": back.call_id, "by": actor.username, **(data or {})},
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
