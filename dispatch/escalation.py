"""The top of the escalation ladder (the rounds of offers below it are in services.intake):
the operator queue with an alert that a named operator must acknowledge (re-sent to every
operator and the supervisors while nobody does, at the service type's `alert_ack_within`),
and, where the service type says so or the request is an emergency, the elder's emergency
contacts by SMS and a voice call with the instruction to call 120. Every alert ends with the
operator who took it."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.core.errors import RuleViolation, StateConflict
from backend.core.events import event_record
from backend.core.i18n import language_for_phone, platform_language
from backend.telephony.models import Channel, Urgency
from backend.telephony.services import notify
from backend.telephony.templates import render
from elders.models import EmergencyContact, SmsKind

from .alert_rules import (
    ALERT_FOLLOW_UP,
    ALERT_RESOLUTIONS,
    ALERT_SILENCE_AFTER_GRACE,
    RESOLVED_BY_CLOSING,
    alert_resolutions_by_hand,
)
from .family import family_text, request_params
from .models import (
    OperatorAlert,
    Priority,
    RequestState,
    ServiceRequest,
    Visit,
)
from .urgency import request_is_urgent

# Alerts that mean nobody is (yet) at the door: the family hears of these.
CONTACTS_TOLD_OF = frozenset({"no_worker", "non_arrival"})


def alert_raise(
    sr: ServiceRequest, kind: str, *, visit: Visit | None = None, data: dict | None = None
) -> OperatorAlert | None:
    """Precondition: the caller holds the work order's lock.

    One unresolved alert per request, visit and kind; once resolved, `ALERT_FOLLOW_UP` says
    whether and when the same condition may raise the next episode. None when nothing is
    raised. The database backs both rules (`one_alert_per_episode`,
    `one_unresolved_alert_per_kind`)."""
    same = OperatorAlert.objects.filter(request=sr, visit=visit, kind=kind)
    last = same.order_by("-episode").first()
    if last is not None and not _may_follow(last):
        return None
    wait = sr.service_type.alert_ack_within
    try:
        with transaction.atomic():
            alert = OperatorAlert.objects.create(
                request=sr,
                visit=visit,
                kind=kind,
                episode=last.episode + 1 if last else 1,
                resend_at=timezone.now() + wait,
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
            "episode": alert.episode,
            "priority": sr.priority,
            # Shown to the district's operators, in the platform's language.
            "instruction": render("alert.call_120", {}, platform_language()) if emergency else "",
            **({"visit": visit.pk} if visit else {}),
            **(data or {}),
        },
    )
    if tell_contacts and kind in CONTACTS_TOLD_OF:
        _tell_emergency_contacts(sr, alert)
    return alert


def _may_follow(last: OperatorAlert) -> bool:
    """Whether the condition behind `last` may raise its next episode now."""
    if last.resolved_at is None:
        return False
    follow_up = ALERT_FOLLOW_UP.get((last.kind, last.resolution), "again")
    if follow_up is None:
        return False
    if follow_up == ALERT_SILENCE_AFTER_GRACE:
        grace = timedelta(minutes=settings.ANXIN["MISSING_CHECK_OUT_GRACE_M"])
        return timezone.now() >= last.resolved_at + grace
    return True


def missing_check_out_alert(*, request_id: int) -> bool:
    """The sweeper found a visit on site far longer than its service takes (plus the grace):
    alert under the work order's lock, after checking again. True if an alert was raised."""
    with transaction.atomic():
        sr = (
            ServiceRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("service_type", "visit", "elder")
            .filter(pk=request_id, state=RequestState.ON_SITE)
            .first()
        )
        if sr is None:
            return False
        grace = timedelta(minutes=settings.ANXIN["MISSING_CHECK_OUT_GRACE_M"])
        if sr.visit.checked_in_at + sr.service_type.default_duration + grace > timezone.now():
            return False
        return alert_raise(sr, "missing_check_out", visit=sr.visit) is not None


def _tell_emergency_contacts(sr: ServiceRequest, alert: OperatorAlert) -> None:
    """The family's SMS; then an emergency calls the contacts in turn until one takes it, and
    other work whose service type tells the contacts makes one routine call to the first."""
    family_text(sr, kind=SmsKind.DELAY, event=f"alert:{alert.pk}", template=f"sms.{alert.kind}")
    if request_is_urgent(sr):
        from .callout import callout_start  # the call-out raises its own alert from here

        callout_start(sr)
        return
    first = EmergencyContact.objects.filter(elder_id=sr.elder_id).order_by("priority").first()
    if first is not None:
        notify(
            event=f"alert:{alert.pk}",
            to=str(first.phone),
            channel=Channel.CALL,
            template="call.no_worker",
            params=request_params(sr),
            language=language_for_phone(first.phone),
            urgency=Urgency.ROUTINE,
        )


def alert_acknowledge(*, alert_id: int, user: User) -> OperatorAlert:
    with transaction.atomic():
        alert = (
            OperatorAlert.objects.select_for_update(of=("self",))
            .select_related("request", "acknowledged_by")
            .get(pk=alert_id)
        )
        if alert.acknowledged_at:
            raise StateConflict(
                (
                    _("Already resolved by %(name)s.")
                    if alert.resolved_at
                    else _("Already acknowledged by %(name)s.")
                )
                % {"name": _name(alert.acknowledged_by)},
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
                _("Already resolved (%(resolution)s) by %(name)s.")
                % {"resolution": alert.resolution, "name": _name(alert.resolved_by)},
                current_state="resolved",
                code="alert_resolved",
            )
        allowed = alert_resolutions_by_hand(alert.kind)
        if resolution not in allowed:
            hint = ", ".join(sorted(allowed)) or _("close the request with its outcome")
            raise RuleViolation(
                _("%(resolution)s does not resolve a %(kind)s alert.")
                % {"resolution": resolution, "kind": alert.kind},
                code="resolution_not_allowed",
                fields={"resolution": [hint]},
            )
        _resolve(alert, user, resolution, note)
    return alert


def alerts_resolve_kind(
    sr: ServiceRequest, kind: str, *, user: User, resolution: str, note: str = ""
) -> int:
    """Resolve the request's open alerts of `kind` on the user's word: the matter the alert
    raised was taken in hand elsewhere (an operator took the waiting caller). How many."""
    assert resolution in ALERT_RESOLUTIONS[kind], (kind, resolution)
    open_alerts = OperatorAlert.objects.select_for_update(of=("self",)).filter(
        request=sr, kind=kind, resolved_at__isnull=True
    )
    resolved = 0
    for alert in open_alerts.select_related("request"):
        _resolve(alert, user, resolution, note)
        resolved += 1
    return resolved


def alerts_end_with_request(sr: ServiceRequest, *, actor: User | None) -> None:
    """The work order ended: its open alerts end with it, resolved by whoever ended it (an
    emergency's outcome alert as `outcome_recorded`). Precondition: `sr` is locked."""
    for alert in OperatorAlert.objects.select_for_update(of=("self",)).filter(
        request=sr, resolved_at__isnull=True
    ):
        code = RESOLVED_BY_CLOSING if alert.kind == "emergency_outcome" else "request_ended"
        _resolve(alert, actor, code, f"request {sr.state}")


def _name(user: User | None) -> str:
    return user.username if user else _("the system")


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


def alerts_due_for_resend() -> QuerySet[OperatorAlert]:
    return OperatorAlert.objects.filter(
        acknowledged_at__isnull=True, resolved_at__isnull=True, resend_at__lte=timezone.now()
    )


def alert_resend(*, alert_id: int) -> bool:
    """Re-send an alert nobody acknowledged in time to all operators and the district's
    supervisors. False if someone took it meanwhile, or holds it now."""
    with transaction.atomic():
        alert = (
            alerts_due_for_resend()
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("request__service_type")
            .filter(pk=alert_id)
            .first()
        )
        if alert is None:
            return False
        district_id = alert.request.district_id
        supervisors = list(
            User.objects.filter(
                district_id=district_id,
                role__in=[Role.SUPERVISOR, Role.DISTRICT_ADMIN],
                is_active=True,
            ).values_list("pk", flat=True)
        )
        alert.resent += 1
        alert.resend_at = timezone.now() + alert.request.service_type.alert_ack_within
        alert.save(update_fields=["resent", "resend_at"])
        event_record(
            kind="alert.resent",
            subject_type="alert",
            subject_id=alert.pk,
            after="open",
            district_id=district_id,
            recipients=supervisors,
            data={"request": alert.request_id, "alert_kind": alert.kind, "resent": alert.resent},
        )
        return True
