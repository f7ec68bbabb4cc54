"""Emergency call-out (紧急联系人呼叫): when an emergency is not accepted in time, the elder's
emergency contacts are called in priority order, each one's phone and then their other phone,
with a spoken message "press 1 to take responsibility", until one does. Nobody by the end of the
list: the operators are alerted with the instruction to call 120.

The numbers are fixed as rows when the call-out starts (`CallOutAttempt`, one per number); the
call in progress is the one row `calling`. Whatever ends a call (a keypress, or the flow's
`on_ended` from the notification log) ends that row and dials the next one in the same
transaction. Every change is made here, under the work order's lock, with an event on the work
order for the operators.

Calls go through the notification log (backend/telephony) as emergencies: at least once, never
held for quiet hours, placed again by the log when their delivery failed (the call ends for the
call-out only once those tries are spent, or at once when the number is refused for good), and
ended by the log's sweep as not answered when Twilio's final status never comes
(ANXIN["CALL_FINAL_STATUS_WITHIN_S"]): every call ends, so the call-out keeps no deadline of its
own."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from backend.core.events import event_record
from backend.core.i18n import language_for_phone, platform_language
from backend.telephony.models import Notification
from backend.telephony.services import NO_FINAL_STATUS, notify
from backend.telephony.templates import render
from elders.models import EmergencyContact

from .escalation import alert_raise
from .models import (
    UNACCEPTED_STATES,
    CallAttemptState,
    CallOut,
    CallOutAttempt,
    CallOutState,
    ServiceRequest,
)
from .services._core import _lock_request, _request_recipients
from .transitions import CALL_ATTEMPT_TRANSITIONS, CALLOUT_TRANSITIONS, next_state

FLOW = "callout"
TAKE = "1"


def callout_start(sr: ServiceRequest) -> CallOut | None:
    """Start calling the elder's contacts. Precondition: the caller holds the work order's lock.

    One call-out per work order: None if it already has one (a second escalation of the same
    emergency does not call the family a second time), or if the elder has no contact with a
    number (the operator queue's alert already says to call 120)."""
    numbers = _numbers(sr.elder_id)
    if not numbers or CallOut.objects.filter(request=sr).exists():
        return None
    callout = CallOut.objects.create(request=sr)
    CallOutAttempt.objects.bulk_create(
        CallOutAttempt(
            callout=callout,
            position=position,
            contact=contact,
            which=which,
            phone=phone,
            event=f"callout:{callout.pk}:{position}",
        )
        for position, (contact, which, phone) in enumerate(numbers, start=1)
    )
    _record(sr, callout, "started", numbers=len(numbers))
    _dial_next(sr, callout)
    return callout


def _numbers(elder_id: int) -> list[tuple[EmergencyContact, str, str]]:
    """Each contact in priority order, their phone then their other phone; a number already
    on the list (a shared landline) is dialled once."""
    seen: set[str] = set()
    found = []
    for contact in EmergencyContact.objects.filter(elder_id=elder_id).order_by("priority"):
        for which in ("phone", "alt_phone"):
            value = getattr(contact, which)
            number = value.as_e164 if value else ""
            if number and number not in seen:
                seen.add(number)
                found.append((contact, which, number))
    return found


def _dial_next(sr: ServiceRequest, callout: CallOut) -> None:
    """Call the next number, or end the call-out. Precondition: `sr` is locked, the call-out
    is calling and no call of it is in progress."""
    waiting = callout.attempts.filter(state=CallAttemptState.WAITING)
    if sr.state not in UNACCEPTED_STATES:  # someone has the work now, or it ended
        for unneeded in waiting:
            _attempt_move(unneeded, "skip")
        _callout_move(sr, callout, "stop", reason=f"request {sr.state}")
        return
    attempt = waiting.order_by("position").first()
    if attempt is None:
        _callout_move(sr, callout, "exhaust")
        instruction = render(
            "alert.callout_nobody",
            {"elder": sr.elder.full_name, "reference": sr.reference or ""},
            platform_language(),
        )
        alert_raise(
            sr,
            "callout_unanswered",
            data={
                "callout": callout.pk,
                "instruction": instruction,
                "numbers_called": _tried(callout),
            },
        )
        return
    _attempt_move(attempt, "dial", started_at=timezone.now())
    notify(
        event=attempt.event,
        to=attempt.phone,
        channel="call",
        template="call.callout_prompt",
        params={"elder": sr.elder.full_name},
        language=language_for_phone(attempt.phone),
        urgency="emergency",
        flow=FLOW,
    )
    _record(sr, callout, "calling", **_who(attempt))


def _tried(callout: CallOut) -> int:
    return callout.attempts.exclude(
        state__in=[CallAttemptState.WAITING, CallAttemptState.SKIPPED]
    ).count()


def _who(attempt: CallOutAttempt) -> dict[str, Any]:
    contact = attempt.contact
    return {
        "position": attempt.position,
        "contact": attempt.contact_id,
        "name": contact.name if contact else "",
        "relationship": contact.relationship if contact else "",
        "which": attempt.which,
    }


def _attempt_move(attempt: CallOutAttempt, event: str, **fields: Any) -> None:
    after = next_state(CALL_ATTEMPT_TRANSITIONS, attempt.state, event)
    if after is None:
        raise ValueError(f"Cannot {event} a call-out call that is {attempt.state}")
    attempt.state = after
    if after != CallAttemptState.CALLING:
        fields.setdefault("ended_at", timezone.now())
    for name, value in fields.items():
        setattr(attempt, name, value)
    attempt.save(update_fields=["state", *fields])


def _callout_move(sr: ServiceRequest, callout: CallOut, event: str, **data: Any) -> None:
    before = callout.state
    after = next_state(CALLOUT_TRANSITIONS, before, event)
    if after is None:
        raise ValueError(f"Cannot {event} a call-out that is {before}")
    callout.state = after
    fields = ["state"]
    if callout.ended_at is None:
        callout.ended_at = timezone.now()
        fields.append("ended_at")
    callout.save(update_fields=fields)
    _record(sr, callout, after, before=before, **data)


def _record(sr: ServiceRequest, callout: CallOut, what: str, before: str = "", **data: Any) -> None:
    """The audit row, on the work order, pushed to the district's operators and the family."""
    event_record(
        kind=f"callout.{what}",
        subject_type="request",
        subject_id=sr.pk,
        before=before,
        after=callout.state,
        district_id=sr.district_id,
        recipients=_request_recipients(sr),
        data={"reference": sr.reference, "callout": callout.pk, **data},
    )


# What ends a call: a keypress, or the notification log's end of it -------------------------


def _locked(event: str) -> tuple[ServiceRequest, CallOut, CallOutAttempt] | None:
    """The work order (locked first, as everywhere), its call-out and the call behind a
    notification's event; None if the event is not a call-out's."""
    request_id = (
        CallOutAttempt.objects.filter(event=event)
        .values_list("callout__request_id", flat=True)
        .first()
    )
    if request_id is None:
        return None
    sr = _lock_request(request_id)
    if sr is None:
        return None
    callout = CallOut.objects.select_for_update().get(request=sr)
    attempt = CallOutAttempt.objects.select_related("contact").get(event=event)
    return sr, callout, attempt


def callout_digits(notification: Notification, digits: str) -> str | None:
    """A contact answered and pressed a key. 1 takes responsibility: the first to press it is
    the one recorded, even on a call that ended late (after the call-out moved on, ran out of
    numbers or was stopped); a later one is thanked and recorded too. Any other key is not an
    answer (None: the question is asked again, a slip of the finger is no refusal); a call that
    ends without 1 passes the call-out on. Returns the text said back."""
    if digits != TAKE:
        return None
    with transaction.atomic():
        found = _locked(notification.event)
        if found is None:
            return None
        sr, callout, attempt = found
        if attempt.state in (CallAttemptState.CALLING, CallAttemptState.TIMED_OUT):
            _attempt_move(attempt, "take", outcome="pressed_1")
        if callout.state == CallOutState.TAKEN:
            _record(sr, callout, "also_taken", **_who(attempt))
        else:
            callout.taken_by, callout.taken_at = attempt.contact, timezone.now()
            callout.save(update_fields=["taken_by", "taken_at"])
            _callout_move(sr, callout, "take", **_who(attempt))
        return render("call.callout_thanks", {"elder": sr.elder.full_name}, notification.language)


def callout_call_ended(notification: Notification) -> None:
    """The call ended without 1: no answer, busy, failed, hung up, or its end never reported
    (the log's sweep). The next number."""
    if notification.error_code == NO_FINAL_STATUS:
        outcome = NO_FINAL_STATUS
    else:
        outcome = notification.provider_status or notification.state
    with transaction.atomic():
        found = _locked(notification.event)
        if found is not None:
            _call_ended(*found, outcome)


def _call_ended(
    sr: ServiceRequest, callout: CallOut, attempt: CallOutAttempt, outcome: str
) -> None:
    """Precondition: `sr` is locked. Ends the call once (a second report of the same call, or
    one after the deadline did, changes nothing) and moves the call-out on while it runs."""
    if attempt.state != CallAttemptState.CALLING:
        return
    unheard = outcome == NO_FINAL_STATUS
    _attempt_move(attempt, "time_out" if unheard else "not_taken", outcome=outcome[:20])
    _record(sr, callout, "not_taken", outcome=outcome, **_who(attempt))
    if callout.state == CallOutState.CALLING:
        _dial_next(sr, callout)
