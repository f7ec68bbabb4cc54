"""Writes of the provider registry."""

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from backend.accounts.models import District, Role, User
from backend.accounts.services import password_check
from backend.core.errors import DomainError, NotAllowed, NotFound, RuleViolation, StateConflict
from backend.core.events import event_record

from .credit_code import InvalidCreditCode, parse_credit_code
from .models import (
    Appeal,
    AppealState,
    Certificate,
    ChangeState,
    CreditEvent,
    PositionTrace,
    Provider,
    ProviderChange,
    ProviderService,
    ProviderStatus,
    Sanction,
    SanctionKind,
    ShiftChange,
    Worker,
)
from .transitions import CREDIT_DELTAS, CREDIT_MAX, CREDIT_MIN, PROVIDER_TRANSITIONS


class ProviderDataError(DomainError):
    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("The provider's data has invalid fields.", code="invalid", fields=fields)


def _admin_ids(provider: Provider) -> list[int]:
    return list(provider.admins.values_list("pk", flat=True))


def _record(provider: Provider, kind: str, actor: User | None, **extra: Any) -> None:
    event_record(
        kind=kind,
        subject_type="provider",
        subject_id=provider.pk,
        actor=actor,
        district_id=provider.district_id,
        recipients=_admin_ids(provider),
        **extra,
    )


# Organisations -----------------------------------------------------------------------------


def provider_register(
    *, actor: User, district_id: int, credit_code: str = "", **fields: Any
) -> Provider:
    """A new organisation waits for a district administrator's review (of where it serves,
    too: within its district, as every later change)."""
    provider = Provider(district_id=district_id, status=ProviderStatus.PENDING, **fields)
    provider.credit_code = _credit_code(credit_code)
    _where_check(provider, {"service_area": {"to": _encode(provider.service_area)}})
    try:
        with transaction.atomic():
            provider.save()
            if actor.role == Role.PROVIDER_ADMIN:
                provider.admins.add(actor)
            _record(provider, "provider.registered", actor, after=provider.status)
    except IntegrityError:
        raise ProviderDataError({"credit_code": ["already registered"]}) from None
    return provider


def _credit_code(value: str | None) -> str | None:
    """The code in its canonical form; blank clears it."""
    if not value:
        return None
    try:
        return parse_credit_code(value)
    except InvalidCreditCode as exc:
        raise ProviderDataError({"credit_code": [exc.reason]}) from None


def provider_update(
    *, provider: Provider, actor: User, reason: str = "", **fields: Any
) -> tuple[Provider, ProviderChange | None]:
    """Change an organisation's details. Where it serves and its credit code
    (`REVIEWED_FIELDS`) go through `_change_submit`: a district administrator's edit takes
    effect at once as an approved change, its own admin's waits for one as a pending change
    (returned). Everything else takes effect at once."""
    reviewed = {name: fields.pop(name) for name in REVIEWED_FIELDS if name in fields}
    try:
        with transaction.atomic():
            provider = Provider.objects.select_for_update().get(pk=provider.pk)
            if fields:
                for name, value in fields.items():
                    setattr(provider, name, value)
                provider.save(update_fields=sorted(fields))
                _record(provider, "provider.updated", actor, data={"fields": sorted(fields)})
            change = _change_submit(provider, actor, _diffs(provider, reviewed), reason=reason)
    except IntegrityError:
        raise ProviderDataError({"credit_code": ["already registered"]}) from None
    return provider, change


def provider_update_check(*, provider: Provider, **fields: Any) -> None:
    """Raise what `provider_update` would refuse of these fields, writing nothing (for forms)."""
    reviewed = {name: value for name, value in fields.items() if name in REVIEWED_FIELDS}
    diffs = _diffs(provider, reviewed)
    _changes_check(provider, {key: {"from": a, "to": b} for key, (a, b) in diffs.items() if a != b})


def provider_service_set(
    *,
    provider: Provider,
    actor: User,
    service_code: str,
    price: Decimal,
    unit: str,
    subsidised: bool | None = None,
    reason: str = "",
) -> ProviderChange | None:
    """Offer a service at a price, or change its price, unit or subsidy flag (None keeps it; a
    new service starts unsubsidised): a change like the reviewed fields of `provider_update`
    (None when nothing would change)."""
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider.pk)
        current = provider.services.filter(service_code=service_code).first()
        if subsidised is None:
            subsidised = current.subsidised if current else False
        after = {"price": f"{price:.2f}", "unit": unit, "subsidised": subsidised}
        return _change_submit(
            provider,
            actor,
            {f"{SERVICE_PREFIX}{service_code}": (_service_encode(current), after)},
            reason=reason,
        )


def provider_status_change(
    *,
    provider_id: int,
    event: str,
    actor: User | None,
    reason: str,
    suspended_until: date | None = None,
) -> Provider:
    """The one place a provider's status changes: lock, check the table, save, audit."""
    if not reason.strip():
        raise ProviderDataError({"reason": ["a status change needs a reason"]})
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider_id)
        before = provider.status
        after = PROVIDER_TRANSITIONS.get((before, event))
        if after is None:
            raise StateConflict(
                f"Cannot {event} a provider that is {before}",
                current_state=before,
                code="provider_state_conflict",
            )
        provider.status, provider.status_reason = after, reason.strip()[:300]
        provider.suspended_until = suspended_until if after == ProviderStatus.SUSPENDED else None
        provider.save(update_fields=["status", "status_reason", "suspended_until"])
        _record(
            provider,
            f"provider.{after}",
            actor,
            before=before,
            after=after,
            data={"event": event, "reason": provider.status_reason},
        )
    return provider


# Change requests (变更申请) ----------------------------------------------------------------

# What a provider's own admin cannot change alone: where it serves (an area, or a radius around
# its base, brings that place's jobs and elders' data to it) and its legal identity; and each
# service's price, unit and subsidy flag, under `service:<code>`.
WHERE_FIELDS = ("service_area", "base_location", "service_radius_m")
REVIEWED_FIELDS = (*WHERE_FIELDS, "credit_code")
SERVICE_PREFIX = "service:"


def _encode(value: Any) -> Any:
    """A field's value as a change records it (GeoJSON for geometries)."""
    if isinstance(value, Polygon):
        value = MultiPolygon(value, srid=4326)
    if isinstance(value, (Point, MultiPolygon)):
        return json.loads(value.json)
    return value


def _decode(name: str, value: Any) -> Any:
    if value is None or name not in ("service_area", "base_location"):
        return value
    if value["type"] == "Point":
        lng, lat = value["coordinates"]
        return Point(lng, lat, srid=4326)
    return MultiPolygon(*(Polygon(*rings) for rings in value["coordinates"]), srid=4326)


def _service_encode(service: ProviderService | None) -> dict[str, Any] | None:
    if service is None:
        return None
    return {"price": f"{service.price:.2f}", "unit": service.unit, "subsidised": service.subsidised}


def _current(provider: Provider, key: str) -> Any:
    if key.startswith(SERVICE_PREFIX):
        code = key.removeprefix(SERVICE_PREFIX)
        return _service_encode(provider.services.filter(service_code=code).first())
    return _encode(getattr(provider, key))


def _diffs(provider: Provider, reviewed: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Reviewed fields as encoded (on file, asked for) pairs; a credit code normalised first."""
    if "credit_code" in reviewed:
        reviewed = {**reviewed, "credit_code": _credit_code(reviewed["credit_code"])}
    return {
        name: (_encode(getattr(provider, name)), _encode(value)) for name, value in reviewed.items()
    }


def change_may_decide(*, actor: User, provider: Provider) -> bool:
    """Whether the actor's changes of this provider take effect at once, and whether they may
    approve or reject its admins' changes: a district administrator of its district."""
    return actor.role == Role.DISTRICT_ADMIN and actor.district_id == provider.district_id


def _where_check(provider: Provider, changes: dict[str, dict[str, Any]]) -> None:
    """A service area lies within the provider's district's boundary, when the district has
    one; 422 `outside_district` naming `service_area`. (A radius around the base is not held
    to the boundary: a circle near the edge always crosses it. It is reviewed by a person.)"""
    area = _decode("service_area", changes.get("service_area", {}).get("to"))
    if area is None:
        return
    boundary = (
        District.objects.filter(pk=provider.district_id).values_list("boundary", flat=True).get()
    )
    if boundary is not None and not boundary.covers(area):
        raise RuleViolation(
            "A provider's service area lies within its own district",
            code="outside_district",
            fields={"service_area": ["reaches outside the district's boundary"]},
        )


def _changes_check(provider: Provider, changes: dict[str, dict[str, Any]]) -> None:
    _where_check(provider, changes)
    code = changes.get("credit_code", {}).get("to")
    if code and Provider.objects.filter(credit_code=code).exclude(pk=provider.pk).exists():
        raise ProviderDataError({"credit_code": ["already registered"]})


def _change_apply(provider: Provider, change: ProviderChange) -> None:
    """Precondition: the caller holds the provider's row lock."""
    fields = [name for name in REVIEWED_FIELDS if name in change.changes]
    for name in fields:
        setattr(provider, name, _decode(name, change.changes[name]["to"]))
    if fields:
        provider.save(update_fields=fields)
    for key, diff in change.changes.items():
        if not key.startswith(SERVICE_PREFIX):
            continue
        after = diff["to"]
        ProviderService.objects.update_or_create(
            provider=provider,
            service_code=key.removeprefix(SERVICE_PREFIX),
            defaults={
                "price": Decimal(after["price"]),
                "unit": after["unit"],
                "subsidised": after["subsidised"],
            },
        )


def _change_submit(
    provider: Provider, actor: User, diffs: dict[str, tuple[Any, Any]], *, reason: str
) -> ProviderChange | None:
    """Record a change of reviewed fields (as encoded (before, after) pairs; unchanged ones
    dropped): applied at once and approved when a district administrator of the provider's
    district makes it, else pending for one. It replaces any pending change of the same fields
    (superseded, kept in the history). None when nothing would change.

    Precondition: the caller holds the provider's row lock."""
    changes = {key: {"from": old, "to": new} for key, (old, new) in diffs.items() if old != new}
    if not changes:
        return None
    direct = change_may_decide(actor=actor, provider=provider)
    if not direct and not provider.admins.filter(pk=actor.pk).exists():
        raise NotAllowed("Only the provider's admins or its district administrators change this")
    _changes_check(provider, changes)
    now = timezone.now()
    change = ProviderChange.objects.create(
        provider=provider,
        changes=changes,
        reason=reason.strip()[:300],
        requested_by=actor,
        state=ChangeState.APPROVED if direct else ChangeState.PENDING,
        decided_by=actor if direct else None,
        decided_at=now if direct else None,
        decision_note="edited by a district administrator" if direct else "",
    )
    for earlier in ProviderChange.objects.filter(provider=provider, state=ChangeState.PENDING):
        if earlier.pk != change.pk and set(earlier.changes) & set(changes):
            earlier.state, earlier.decided_at = ChangeState.SUPERSEDED, now
            earlier.decision_note = f"replaced by change {change.pk}"
            earlier.save(update_fields=["state", "decided_at", "decision_note"])
            _record(
                provider,
                "provider.change_superseded",
                actor,
                data={"change": earlier.pk, "by": change.pk},
            )
    if direct:
        _change_apply(provider, change)
    _record(
        provider,
        f"provider.change_{'approved' if direct else 'requested'}",
        actor,
        data={"change": change.pk, "fields": sorted(changes), "direct": direct},
    )
    return change


def provider_change_decide(
    *, change_id: int, actor: User, approve: bool, note: str
) -> ProviderChange:
    """A district administrator of the provider's district approves (the change takes effect,
    checked again against the district's boundary and what is on file now) or rejects a pending
    change, saying why."""
    provider_id = (
        ProviderChange.objects.filter(pk=change_id).values_list("provider_id", flat=True).first()
    )
    if provider_id is None:
        raise NotFound("No such change")
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider_id)
        change = ProviderChange.objects.select_for_update().get(pk=change_id)
        if not change_may_decide(actor=actor, provider=provider):
            raise NotAllowed("Only a district administrator of the provider's district decides")
        if change.state != ChangeState.PENDING:
            raise StateConflict(
                f"This change is already {change.state}",
                current_state=change.state,
                code="change_decided",
            )
        if approve:
            stale = sorted(
                key
                for key, diff in change.changes.items()
                if _current(provider, key) != diff["from"]
            )
            if stale:
                raise StateConflict(
                    "What this change starts from is no longer on file: reject it",
                    current_state=change.state,
                    code="change_stale",
                    fields={key: ["changed since the request"] for key in stale},
                )
            _changes_check(provider, change.changes)
        change.state = ChangeState.APPROVED if approve else ChangeState.REJECTED
        change.decided_by, change.decided_at = actor, timezone.now()
        change.decision_note = note.strip()[:300]
        change.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
        if approve:
            try:
                _change_apply(provider, change)
            except IntegrityError:  # a code registered since the check; all of it rolls back
                raise ProviderDataError({"credit_code": ["already registered"]}) from None
        _record(
            provider,
            f"provider.change_{change.state}",
            actor,
            data={
                "change": change.pk,
                "fields": sorted(change.changes),
                "note": change.decision_note,
            },
        )
    return change


# Sanctions and appeals ---------------------------------------------------------------------


def sanction_impose(
    *, provider_id: int, kind: str, reason: str, actor: User, until: date | None = None
) -> Sanction:
    with transaction.atomic():
        if kind == SanctionKind.SUSPENSION:
            provider_status_change(
                provider_id=provider_id,
                event="suspend",
                actor=actor,
                reason=reason,
                suspended_until=until,
            )
        elif kind == SanctionKind.BLACKLIST:
            provider_status_change(
                provider_id=provider_id, event="blacklist", actor=actor, reason=reason
            )
        sanction = Sanction.objects.create(
            provider_id=provider_id, kind=kind, reason=reason, decided_by=actor, until=until
        )
        provider = Provider.objects.get(pk=provider_id)
        _record(
            provider,
            "provider.sanctioned",
            actor,
            data={"sanction": sanction.pk, "kind": kind, "reason": reason},
        )
    return sanction


def appeal_file(*, sanction: Sanction, actor: User, grounds: str) -> Appeal:
    if sanction.lifted_at:
        raise StateConflict(
            "This sanction was already lifted", current_state="lifted", code="sanction_lifted"
        )
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(sanction=sanction, filed_by=actor, grounds=grounds)
            _record(
                sanction.provider,
                "provider.appeal_filed",
                actor,
                data={"appeal": appeal.pk, "sanction": sanction.pk},
            )
    except IntegrityError:
        raise StateConflict(
            "An appeal of this sanction is already open", current_state="open", code="appeal_open"
        ) from None
    return appeal


def appeal_decide(*, appeal_id: int, actor: User, grant: bool, note: str) -> Appeal:
    """A district administrator decides; granting lifts the sanction and restores the
    provider if the sanction was what took it out of service."""
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().select_related("sanction").get(pk=appeal_id)
        if appeal.state != AppealState.OPEN:
            raise StateConflict(
                f"This appeal is already {appeal.state}",
                current_state=appeal.state,
                code="appeal_decided",
            )
        appeal.state = AppealState.GRANTED if grant else AppealState.REJECTED
        appeal.decided_by, appeal.decision_note = actor, note
        appeal.decided_at = timezone.now()
        appeal.save()
        sanction = appeal.sanction
        if grant:
            sanction.lifted_at = timezone.now()
            sanction.save(update_fields=["lifted_at"])
            if sanction.kind in (SanctionKind.SUSPENSION, SanctionKind.BLACKLIST):
                provider = Provider.objects.get(pk=sanction.provider_id)
                if provider.status in (ProviderStatus.SUSPENDED, ProviderStatus.BLACKLISTED):
                    provider_status_change(
                        provider_id=provider.pk,
                        event="reinstate",
                        actor=actor,
                        reason=f"appeal granted: {note}",
                    )
        _record(
            sanction.provider,
            f"provider.appeal_{appeal.state}",
            actor,
            data={"appeal": appeal.pk, "note": note},
        )
    return appeal


def suspensions_expire(*, today: date | None = None) -> int:
    """Reinstate providers whose suspension has run its time (daily job)."""
    today = today or timezone.localdate()
    ids = Provider.objects.filter(
        status=ProviderStatus.SUSPENDED, suspended_until__lt=today
    ).values_list("pk", flat=True)
    for provider_id in ids:
        provider_status_change(
            provider_id=provider_id, event="reinstate", actor=None, reason="suspension period ended"
        )
    return len(ids)


# Credit record -----------------------------------------------------------------------------


def credit_event_record(
    *, provider_id: int, kind: str, reference: str, worker_id: int | None = None, note: str = ""
) -> CreditEvent | None:
    """Record a fact once (by provider, kind and reference) and move the scores.

    Dispatch calls this after a verified visit, a late arrival, a no-show or a decided
    complaint. Returns None when the same fact was already recorded.
    """
    delta = Decimal(str(CREDIT_DELTAS[kind]))
    try:
        with transaction.atomic():
            event = CreditEvent.objects.create(
                provider_id=provider_id,
                worker_id=worker_id,
                kind=kind,
                delta=delta,
                reference=reference,
                note=note,
            )
    except IntegrityError:
        return None
    bounded = Least(Greatest(F("credit_score") + delta, CREDIT_MIN), CREDIT_MAX)
    Provider.objects.filter(pk=provider_id).update(credit_score=bounded)
    if worker_id:
        Worker.objects.filter(pk=worker_id).update(credit_score=bounded)
    return event


# Workers -----------------------------------------------------------------------------------


def worker_create(
    *, provider: Provider, actor: User, username: str, password: str | None, **fields: Any
) -> Worker:
    """A worker and their sign-in; with no password the account cannot sign in until one is
    set. A password must meet the validators (400 naming `password`)."""
    if password is not None:
        password_check(password, user=User(username=username, role=Role.WORKER))
    try:
        with transaction.atomic():
            user = User.objects.create(
                username=username, role=Role.WORKER, password=make_password(password)
            )
            worker = Worker.objects.create(user=user, provider=provider, **fields)
            _record(provider, "provider.worker_added", actor, data={"worker": worker.pk})
    except IntegrityError:
        raise ProviderDataError({"username": ["already taken"]}) from None
    return worker


def worker_update(*, worker_id: int, actor: User | None, **fields: Any) -> Worker:
    """Change a worker's details; what matching filters on (skills, capacity, provider) is
    copied to the position row in the same transaction. Capacity never goes below the jobs the
    worker holds now (the check constraint backs it)."""
    with transaction.atomic():
        worker = Worker.objects.select_for_update().select_related("provider").get(pk=worker_id)
        capacity = fields.get("capacity", worker.capacity)
        if capacity < worker.active_jobs:
            raise RuleViolation(
                f"The worker holds {worker.active_jobs} jobs now; capacity cannot be lower",
                code="capacity_below_jobs_held",
                fields={"capacity": [f"at least {worker.active_jobs}, the jobs held now"]},
            )
        changed = sorted(name for name, value in fields.items() if getattr(worker, name) != value)
        for name in changed:
            setattr(worker, name, fields[name])
        if not changed:
            return worker
        worker.save(update_fields=changed)
        positions_sync(worker_ids=[worker.pk])
        _record(
            worker.provider,
            "provider.worker_updated",
            actor,
            data={"worker": worker.pk, "fields": changed},
        )
    return worker


def worker_shift_set(*, worker: Worker, state: str, actor: User) -> Worker:
    with transaction.atomic():
        worker = Worker.objects.select_for_update().select_related("provider").get(pk=worker.pk)
        before = worker.shift_state
        if before == state:
            return worker
        worker.shift_state = state
        worker.save(update_fields=["shift_state"])
        ShiftChange.objects.create(worker=worker, state=state)
        positions_sync(worker_ids=[worker.pk])

        event_record(
            kind="worker.shift",
            subject_type="worker",
            subject_id=worker.pk,
            actor=actor,
            before=before,
            after=state,
            district_id=worker.provider.district_id,
            recipients=[worker.user_id],
        )
    return worker


_POSITION_UPSERT = """
WITH w AS (
    SELECT id, shift_state, active_jobs, capacity, skills, provider_id
    FROM providers_worker WHERE id = %s
)
INSERT INTO providers_workerposition
    (worker_id, point, recorded_at, on_shift, has_capacity, skills, provider_id)
SELECT w.id, ST_GeogFromText(%s), now(), w.shift_state = 'on', w.active_jobs < w.capacity,
       w.skills, w.provider_id
FROM w
ON CONFLICT (worker_id) DO UPDATE SET point = EXCLUDED.point, recorded_at = EXCLUDED.recorded_at
WHERE providers_workerposition.recorded_at <= now() - make_interval(secs => %s)
RETURNING recorded_at, (SELECT active_jobs > 0 FROM w)
"""

_POSITIONS_SYNC = """
UPDATE providers_workerposition p
SET on_shift = w.shift_state = 'on', has_capacity = w.active_jobs < w.capacity,
    skills = w.skills, provider_id = w.provider_id
FROM providers_worker w
WHERE w.id = p.worker_id
"""


def positions_sync(*, worker_ids: list[int] | None = None) -> None:
    """Copy what matching filters on from workers to their position rows (all, or these)."""
    with connection.cursor() as cursor:
        if worker_ids is None:
            cursor.execute(_POSITIONS_SYNC)
        else:
            cursor.execute(_POSITIONS_SYNC + " AND w.id = ANY(%s)", [list(worker_ids)])


def worker_position_record(*, worker_id: int, point: Point) -> bool:
    """Store the position unless one was stored less than LOCATION_MIN_INTERVAL_S ago.

    One statement, no lock held: the phone is always answered, the table gets at most one
    write per worker per interval. A stored position of a worker on a job also goes into the
    short trace (electronic visit verification and safety); whether they are on a job is read
    in the same statement, never from a Worker object the caller may have held for a while.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _POSITION_UPSERT,
            [
                worker_id,
                f"SRID=4326;POINT({point.x} {point.y})",
                settings.ANXIN["LOCATION_MIN_INTERVAL_S"],
            ],
        )
        stored = cursor.fetchone()
    if stored and stored[1]:
        PositionTrace.objects.create(
            worker_id=worker_id,
            point=point,
            recorded_at=stored[0],
            purpose="on a job: visit verification and safety",
        )
    return stored is not None


def traces_purge() -> int:
    keep = timedelta(days=settings.ANXIN["TRACE_KEEP_DAYS"])
    deleted, _ = PositionTrace.objects.filter(recorded_at__lt=timezone.now() - keep).delete()
    return deleted


def worker_jobs_adjust(*, worker_id: int, delta: int) -> None:
    """Count a job taken (+1) or finished (-1); the capacity check constraint backs the rule.

    Caller holds the lock on the work order, so jobs of one order are counted once.
    """
    Worker.objects.filter(pk=worker_id).update(active_jobs=F("active_jobs") + delta)
    positions_sync(worker_ids=[worker_id])


def worker_rating_set(*, worker_id: int, rating: float | None) -> None:
    """Dispatch keeps the ratings; the registry shows their average on the worker."""
    Worker.objects.filter(pk=worker_id).update(
        rating=None if rating is None else Decimal(str(round(rating, 2)))
    )


def certificate_add(*, worker: Worker, actor: User, **fields: Any) -> Certificate:
    with transaction.atomic():
        cert = Certificate.objects.create(worker=worker, **fields)
        _record(
            worker.provider,
            "provider.certificate_added",
            actor,
            data={"worker": worker.pk, "kind": cert.kind, "expires_on": str(cert.expires_on)},
        )
    return cert


def certificates_expiry_notify(*, today: date | None = None) -> int:
    """Tell each provider, once per certificate, that a worker's certificate expires soon."""
    from backend.core.side_effects import enqueue_after_commit
    from backend.telephony.tasks import sms_send

    today = today or timezone.localdate()
    horizon = today + timedelta(days=settings.ANXIN["CERT_NOTICE_DAYS"])
    sent = 0
    with transaction.atomic():
        due = (
            Certificate.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("worker__provider")
            .filter(
                expires_on__lte=horizon, expires_on__gte=today, expiry_notice_sent_on__isnull=True
            )
        )
        for cert in due:
            provider = cert.worker.provider
            text = (
                f"【安心】{cert.worker.full_name}的{cert.get_kind_display()}将于"
                f"{cert.expires_on:%Y-%m-%d}到期，到期后不再派单相关服务。"
            )
            _record(
                provider,
                "provider.certificate_expiring",
                None,
                data={
                    "worker": cert.worker_id,
                    "certificate": cert.pk,
                    "expires_on": str(cert.expires_on),
                },
            )
            if provider.contact_phone:
                enqueue_after_commit(sms_send, str(provider.contact_phone), text)
            cert.expiry_notice_sent_on = today
            cert.save(update_fields=["expiry_notice_sent_on"])
            sent += 1
    return sent
