"""Workers: accounts, details, shifts, positions, jobs held and certificates."""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import structlog
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.accounts.services import password_check
from backend.core.batches import delete_in_batches
from backend.core.errors import RuleViolation
from backend.core.events import event_record

from ..models import (
    Certificate,
    CertificateKind,
    PositionTrace,
    Provider,
    ShiftChange,
    Worker,
)
from ._common import ProviderDataError, _record

log = structlog.get_logger(__name__)

# Told after a position of a worker on a job was stored (worker id, point), in the same thread:
# dispatch pushes the distance to the home of an elder the worker is on the way to
# (dispatch/en_route.py). At most once per worker per LOCATION_MIN_INTERVAL_S, as positions
# are stored. What a listener raises is logged; the phone is answered all the same.
ON_A_JOB_POSITION: list[Callable[[int, Point], None]] = []

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
        raise ProviderDataError({"username": [_("already taken")]}) from None
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
                _("The worker holds %(jobs)s jobs now; capacity cannot be lower.")
                % {"jobs": worker.active_jobs},
                code="capacity_below_jobs_held",
                fields={
                    "capacity": [
                        _("at least %(jobs)s, the jobs held now") % {"jobs": worker.active_jobs}
                    ]
                },
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


# The worker is found by `{key}` (id, or user_id: the app's caller) in the same statement. No
# row: no such worker; a null recorded_at: not stored (too soon after the last).
_POSITION_UPSERT = """
WITH w AS (
    SELECT id, shift_state, active_jobs, capacity, skills, provider_id
    FROM providers_worker WHERE {key} = %s
), stored AS (
    INSERT INTO providers_workerposition
        (worker_id, point, recorded_at, on_shift, has_capacity, skills, provider_id)
    SELECT w.id, ST_GeogFromText(%s), now(), w.shift_state = 'on', w.active_jobs < w.capacity,
           w.skills, w.provider_id
    FROM w
    ON CONFLICT (worker_id) DO UPDATE
        SET point = EXCLUDED.point, recorded_at = EXCLUDED.recorded_at
        WHERE providers_workerposition.recorded_at <= now() - make_interval(secs => %s)
    RETURNING recorded_at
)
SELECT w.id, stored.recorded_at, w.active_jobs > 0 FROM w LEFT JOIN stored ON true
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
    return bool(_position_record("id", worker_id, point))


def worker_position_record_for_user(*, user_id: int, point: Point) -> bool | None:
    """As `worker_position_record`, for the worker whose sign-in `user_id` is, found in the
    same statement (the app reports every few seconds); None if that user is no worker."""
    return _position_record("user_id", user_id, point)


def _position_record(key: str, value: int, point: Point) -> bool | None:
    with connection.cursor() as cursor:
        cursor.execute(
            _POSITION_UPSERT.format(key=key),
            [
                value,
                f"SRID=4326;POINT({point.x} {point.y})",
                settings.ANXIN["LOCATION_MIN_INTERVAL_S"],
            ],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    worker_id, recorded_at, on_a_job = found
    if recorded_at is not None and on_a_job:
        PositionTrace.objects.create(
            worker_id=worker_id,
            point=point,
            recorded_at=recorded_at,
            purpose="on a job: visit verification and safety",
        )
        for listener in ON_A_JOB_POSITION:
            try:
                listener(worker_id, point)
            except Exception:
                log.exception("position_listener_failed", worker=worker_id)
    return recorded_at is not None


def traces_purge() -> int:
    keep = timedelta(days=settings.ANXIN["TRACE_KEEP_DAYS"])
    return delete_in_batches(PositionTrace.objects.filter(recorded_at__lt=timezone.now() - keep))


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
    from backend.core.i18n import language_for_phone
    from backend.telephony.services import notify
    from backend.telephony.templates import per_language

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
                notify(
                    event=f"certificate.expiring:{cert.pk}",
                    to=str(provider.contact_phone),
                    channel="sms",
                    template="sms.certificate_expiring",
                    params={
                        "worker": cert.worker.full_name,
                        "certificate": per_language(CertificateKind(cert.kind).label),
                        "date": cert.expires_on.isoformat(),
                    },
                    language=language_for_phone(provider.contact_phone),
                )
            cert.expiry_notice_sent_on = today
            cert.save(update_fields=["expiry_notice_sent_on"])
            sent += 1
    return sent
