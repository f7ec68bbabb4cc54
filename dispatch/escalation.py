"""The top of the escalation ladder (the rounds of offers below it are in services.intake):
the operator queue with an alert that a named operator must acknowledge (re-sent to every
operator and the supervisors while nobody does, at the service type's `alert_ack_within`),
and, where the service type says so or the request is an emergency, the elder's emergency
contacts by SMS and a voice call with the instruction to call 120. Every alert ends with the
operator who took it."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.accounts.models import Role, User
from backend.core.errors import RuleViolation, StateConflict
from backend.core.events import event_record
from backend.core.side_effects import enqueue_after_commit
from backend.telephony.tasks import call_place, sms_send
from elders.models import EmergencyContact

from .models import ALERT_RESOLUTIONS, OperatorAlert, Priority, ServiceRequest

CALL_120 = "如有生命危险，请立即拨打120急救电话。"
# Alerts that mean nobody is (yet) at the door: the family hears of these.
CONTACTS_TOLD_OF = frozenset({"no_worker", "non_arrival"})


def alert_raise(sr: ServiceRequest, kind: str, *, data: dict | None = None) -> OperatorAlert | None:
    """Precondition: the caller holds the work order's lock. One open alert per kind."""
    wait = sr.service_type.alert_ack_within
    try:
        with transaction.atomic():
            alert = OperatorAlert.objects.create(
                request=sr, kind=kind, resend_at=timezone.now() + wait
            )
    except IntegrityError:
        return None
    emergency = sr.priority == Priority.EMERGENCY
    tell_contacts = emergency or sr.service_type.notify_contacts
    event_record(
        kind="alert.raised",
        subject_type="alert",
        subject_id=alert.pk,
        after="open",
        district_id=sr.district_id,
        data={
            "request": sr.pk,
            "reference": sr.reference,
            "alert_kind": kind,
            "priority": sr.priority,
            "instruction": CALL_120 if emergency else "",
            **(data or {}),
        },
    )
    if tell_contacts and kind in CONTACTS_TOLD_OF:
        _tell_emergency_contacts(sr)
    return alert


def _tell_emergency_contacts(sr: ServiceRequest) -> None:
    contacts = EmergencyContact.objects.filter(elder_id=sr.elder_id).order_by("priority")
    text = (
        f"【安心】{sr.elder.full_name}的紧急求助(工单{sr.reference})暂无服务人员接单，"
        f"坐席正在处理。{CALL_120}"
    )
    for i, contact in enumerate(contacts):
        enqueue_after_commit(sms_send, str(contact.phone), text)
        if i == 0:
            enqueue_after_commit(call_place, str(contact.phone), text)


def alert_acknowledge(*, alert_id: int, user: User) -> OperatorAlert:
    with transaction.atomic():
        alert = (
            OperatorAlert.objects.select_for_update(of=("self",))
            .select_related("request", "acknowledged_by")
            .get(pk=alert_id)
        )
        if alert.acknowledged_at:
            raise StateConflict(
                f"Already {'resolved' if alert.resolved_at else 'acknowledged'} by "
                f"{_name(alert.acknowledged_by)}",
                current_state="resolved" if alert.resolved_at else "acknowledged",
                code="alert_acknowledged",
            )
        alert.acknowledged_by, alert.acknowledged_at = user, timezone.now()
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
        event_record(
            kind="alert.acknowledged",
            subject_type="alert",
            subject_id=alert.pk,
            actor=user,
            before="open",
            after="acknowledged",
            district_id=alert.request.district_id,
            data={"request": alert.request_id, "responsible": user.username},
        )
    return alert


def alert_resolve(*, alert_id: int, user: User, resolution: str, note: str = "") -> OperatorAlert:
    """Close an alert with a resolution code that fits its kind. Whoever resolves an alert
    nobody acknowledged takes responsibility for it too. An emergency's `emergency_outcome`
    is resolved by closing the request with its outcome, not here."""
    with transaction.atomic():
        alert = (
            OperatorAlert.objects.select_for_update(of=("self",))
            .select_related("request", "resolved_by")
            .get(pk=alert_id)
        )
        if alert.resolved_at:
            raise StateConflict(
                f"Already resolved ({alert.resolution}) by {_name(alert.resolved_by)}",
                current_state="resolved",
                code="alert_resolved",
            )
        allowed = ALERT_RESOLUTIONS[alert.kind] - {"outcome_recorded"}
        if resolution not in allowed:
            hint = ", ".join(sorted(allowed)) or "close the request with its outcome"
            raise RuleViolation(
                f"{resolution} does not resolve a {alert.kind} alert",
                code="resolution_not_allowed",
                fields={"resolution": [hint]},
            )
        _resolve(alert, user, resolution, note)
    return alert


def alerts_end_with_request(sr: ServiceRequest, *, actor: User | None) -> None:
    """The work order ended: its open alerts end with it, resolved by whoever ended it (an
    emergency's outcome alert as `outcome_recorded`). Precondition: `sr` is locked."""
    for alert in OperatorAlert.objects.select_for_update(of=("self",)).filter(
        request=sr, resolved_at__isnull=True
    ):
        code = "outcome_recorded" if alert.kind == "emergency_outcome" else "request_ended"
        _resolve(alert, actor, code, f"request {sr.state}")


def _name(user: User | None) -> str:
    return user.username if user else "the system"


def _resolve(alert: OperatorAlert, user: User | None, resolution: str, note: str) -> None:
    now = timezone.now()
    acknowledged = alert.acknowledged_at is not None
    if not acknowledged:
        alert.acknowledged_by, alert.acknowledged_at = user, now
    alert.resolution, alert.resolution_note = resolution, note
    alert.resolved_by, alert.resolved_at = user, now
    alert.save(
        update_fields=[
            "acknowledged_by",
            "acknowledged_at",
            "resolution",
            "resolution_note",
            "resolved_by",
            "resolved_at",
        ]
    )
    event_record(
        kind="alert.resolved",
        subject_type="alert",
        subject_id=alert.pk,
        actor=user,
        before="acknowledged" if acknowledged else "open",
        after="resolved",
        district_id=alert.request.district_id,
        data={
            "request": alert.request_id,
            "alert_kind": alert.kind,
            "resolution": resolution,
            "note": note,
        },
    )


def alerts_resend() -> int:
    """Re-send every alert nobody acknowledged in time, to all operators and supervisors."""
    now = timezone.now()
    sent = 0
    with transaction.atomic():
        due = (
            OperatorAlert.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("request__service_type")
            .filter(acknowledged_at__isnull=True, resolved_at__isnull=True, resend_at__lte=now)
        )
        for alert in due:
            district_id = alert.request.district_id
            supervisors = list(
                User.objects.filter(
                    district_id=district_id,
                    role__in=[Role.SUPERVISOR, Role.DISTRICT_ADMIN],
                    is_active=True,
                ).values_list("pk", flat=True)
            )
            alert.resent += 1
            alert.resend_at = now + alert.request.service_type.alert_ack_within
            alert.save(update_fields=["resent", "resend_at"])
            event_record(
                kind="alert.resent",
                subject_type="alert",
                subject_id=alert.pk,
                after="open",
                district_id=district_id,
                recipients=supervisors,
                data={
                    "request": alert.request_id,
                    "alert_kind": alert.kind,
                    "resent": alert.resent,
                },
            )
            sent += 1
    return sent
