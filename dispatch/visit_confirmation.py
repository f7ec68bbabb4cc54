"""Visit confirmation (到岗确认): at check-in the elder is called or texted, "press 1 if your
caregiver has arrived" (ANXIN["VISIT_CONFIRMATION"]: "off", "call" or "sms"). The answer is an
independent check recorded on the visit, beside the geofence: confirmed, denied (any other
key or digit; the operators are alerted) or no answer (the call ended without a key, or nothing
came back within ANXIN["VISIT_CONFIRMATION_WAIT_M"]: the sweeper). It does not change whether
the visit is verified; a supervisor reads it with the rest.

Every answer goes through `_confirmation_move`, under the work order's lock, with an event."""

import re
import unicodedata
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from backend.core.events import event_record
from backend.core.i18n import language_for_phone
from backend.telephony.models import Notification
from backend.telephony.services import notify
from backend.telephony.templates import render
from elders.models import Elder

from .escalation import alert_raise
from .models import ServiceRequest, Visit, VisitConfirmation
from .services._core import _display_tz, _lock_request
from .transitions import VISIT_CONFIRMATION_TRANSITIONS, next_state

FLOW = "visit_confirm"
CONFIRM = "1"
# An SMS answer is one digit (full-width digits count: １).
SMS_ANSWER = re.compile(r"^\s*(\d)\s*$")


def confirmation_mode() -> str:
    return str(settings.ANXIN["VISIT_CONFIRMATION"])


def visit_confirmation_ask(sr: ServiceRequest, visit: Visit) -> None:
    """At check-in: ask the elder, if the platform asks and the elder has a number to ask on
    (a call: their mobile, else their landline; an SMS: their mobile). Precondition: `sr` is
    locked and `visit` was just created."""
    mode = confirmation_mode()
    if mode not in ("call", "sms"):
        return
    elder = Elder.objects.only("phone", "landline").get(pk=sr.elder_id)
    phones = [elder.phone] if mode == "sms" else [elder.phone, elder.landline]
    number = next((p.as_e164 for p in phones if p), "")
    if not number:
        return
    now = timezone.now()
    wait = timedelta(minutes=settings.ANXIN["VISIT_CONFIRMATION_WAIT_M"])
    visit.confirmation_channel = mode
    _confirmation_move(sr, visit, "ask", due_at=now + wait)
    service = {"en": sr.service_type.name, "zh-hans": sr.service_type.name_zh}
    local = timezone.localtime(visit.checked_in_at, timezone=_display_tz()).strftime("%H:%M")
    notify(
        event=_event(visit),
        to=number,
        channel=mode,
        template="call.visit_confirm" if mode == "call" else "sms.visit_confirm",
        params={"service": service} if mode == "call" else {"service": service, "time": local},
        language=language_for_phone(number),
        flow=FLOW if mode == "call" else "",
        quiet_hours=False,  # the caregiver is at the door now: asking later is no check
    )


def _event(visit: Visit) -> str:
    return f"visit.confirm:{visit.pk}"


def _confirmation_move(
    sr: ServiceRequest, visit: Visit, event: str, *, due_at: Any = None, **data: Any
) -> None:
    """The one place a confirmation changes. Precondition: `sr` is locked."""
    before = visit.confirmation
    after = next_state(VISIT_CONFIRMATION_TRANSITIONS, before, event)
    if after is None:
        return  # answered already (a second report of the same call, or a late reply)
    now = timezone.now()
    visit.confirmation = after
    fields = ["confirmation"]
    if event == "ask":
        visit.confirmation_due_at = due_at
        fields += ["confirmation_channel", "confirmation_due_at"]
    else:
        visit.confirmation_at = now
        fields.append("confirmation_at")
    visit.save(update_fields=fields)
    event_record(
        kind=f"visit.confirmation_{after}",
        subject_type="visit",
        subject_id=visit.pk,
        before=before,
        after=after,
        district_id=sr.district_id,
        data={
            "request": sr.pk,
            "reference": sr.reference,
            "channel": visit.confirmation_channel,
            **data,
        },
    )
    if after == VisitConfirmation.DENIED:
        alert_raise(sr, "visit_denied", visit=visit, data={"channel": visit.confirmation_channel})


def _answer(visit_id: int, event: str, **data: Any) -> Visit | None:
    request_id = Visit.objects.filter(pk=visit_id).values_list("request_id", flat=True).first()
    if request_id is None:
        return None
    with transaction.atomic():
        sr = _lock_request(request_id)
        if sr is None:
            return None
        visit = Visit.objects.select_for_update().get(pk=visit_id)
        _confirmation_move(sr, visit, event, **data)
        return visit


def _visit_id(notification: Notification) -> int | None:
    prefix, _, pk = notification.event.partition(":")
    return int(pk) if prefix == "visit.confirm" and pk.isdigit() else None


def visit_confirmation_digits(notification: Notification, digits: str) -> str | None:
    """The elder pressed a key: 1 confirms, any other denies."""
    visit_id = _visit_id(notification)
    if visit_id is None:
        return None
    confirmed = digits == CONFIRM
    _answer(visit_id, "confirm" if confirmed else "deny", digits=digits[:8])
    return render("call.visit_confirm_thanks", {}, notification.language)


def visit_confirmation_call_ended(notification: Notification) -> None:
    """The call ended without a key: no answer."""
    visit_id = _visit_id(notification)
    if visit_id is not None:
        _answer(visit_id, "no_answer", outcome=notification.provider_status or notification.state)


def visit_confirmation_sms_reply(from_number: str, body: str) -> str | None:
    """An SMS reply of one digit from the number a pending SMS confirmation went to (the newest
    one): 1 confirms, another digit denies. Anything else is not an answer (None: another
    handler may take it)."""
    found = SMS_ANSWER.match(unicodedata.normalize("NFKC", body))
    if found is None:
        return None
    visit_id = (
        Notification.objects.filter(
            recipient=from_number, channel="sms", event__startswith="visit.confirm:"
        )
        .order_by("-created_at")
        .values_list("event", flat=True)
        .first()
    )
    if visit_id is None:
        return None
    pk = int(visit_id.partition(":")[2])
    if not Visit.objects.filter(pk=pk, confirmation=VisitConfirmation.PENDING).exists():
        return None
    visit = _answer(pk, "confirm" if found.group(1) == CONFIRM else "deny", digits=found.group(1))
    if visit is None:
        return None
    return render("call.visit_confirm_thanks", {}, language_for_phone(from_number))


def visit_confirmations_overdue() -> QuerySet[Visit]:
    """Asked, no answer by the deadline (the sweeper)."""
    return Visit.objects.filter(
        confirmation=VisitConfirmation.PENDING, confirmation_due_at__lte=timezone.now()
    )


def visit_confirmation_overdue(*, visit_id: int) -> bool:
    """The sweeper: no answer in time counts as no answer. True if it recorded that."""
    request_id = Visit.objects.filter(pk=visit_id).values_list("request_id", flat=True).first()
    if request_id is None:
        return False
    with transaction.atomic():
        sr = _lock_request(request_id, skip_locked=True)
        if sr is None:
            return False
        visit = Visit.objects.select_for_update().get(pk=visit_id)
        due = visit.confirmation_due_at
        if visit.confirmation != VisitConfirmation.PENDING or due is None or due > timezone.now():
            return False
        _confirmation_move(sr, visit, "no_answer", outcome="no_reply_in_time")
        return True
