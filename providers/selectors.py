"""Reads of the provider registry, scoped to what the caller may see; matching's candidate
search lives here because it reads only this app's tables."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance, GeometryDistance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from backend.accounts.models import Role, User

from .models import (
    Certificate,
    Provider,
    ProviderService,
    ProviderStatus,
    Worker,
    WorkerPosition,
)


@dataclass(frozen=True)
class Candidate:
    worker_id: int
    user_id: int
    provider_id: int
    distance_m: float


def providers_visible_to(user: User) -> QuerySet[Provider]:
    if user.is_district_staff:
        return Provider.objects.filter(district_id=user.district_id)
    if user.role == Role.PROVIDER_ADMIN:
        return Provider.objects.filter(admins=user)
    return Provider.objects.none()


def workers_visible_to(user: User) -> QuerySet[Worker]:
    if user.is_district_staff:
        return Worker.objects.filter(provider__district_id=user.district_id)
    if user.role == Role.PROVIDER_ADMIN:
        return Worker.objects.filter(provider__admins=user)
    if user.role == Role.WORKER:
        return Worker.objects.filter(user=user)
    return Worker.objects.none()


def providers_serving(*, point: Point, service_code: str | None = None) -> QuerySet[Provider]:
    """Active providers whose service area covers the point (or, without an area, whose base
    is within their service radius), offering the service if one is named."""
    qs = (
        Provider.objects.filter(status=ProviderStatus.ACTIVE)
        .annotate(base_distance=Distance("base_location", point))
        .filter(
            Q(service_area__covers=point)
            | Q(service_area__isnull=True, base_distance__lte=F("service_radius_m"))
        )
    )
    if service_code:
        qs = qs.filter(services__service_code=service_code)
    return qs


def workers_nearest(
    *,
    point: Point,
    skill: str,
    radius_m: float,
    provider_ids: Iterable[int] | None = None,
    required_certificates: Iterable[str] = (),
    exclude_worker_ids: frozenset[int] = frozenset(),
    limit: int = 10,
) -> list[Candidate]:
    """Eligible workers nearest first: KNN (`<->`) on the GiST index of the positions table.

    Eligible means on shift, with the skill and an unexpired certificate of each required
    kind, spare capacity, an active provider (among `provider_ids` when given) and a position
    fresh enough to trust, within `radius_m` metres (geography, so metres are metres).
    """
    now = timezone.now()
    fresh_after = now - timedelta(seconds=settings.ANXIN["LOCATION_MAX_AGE_S"])
    if provider_ids is None:
        provider_ids = Provider.objects.filter(status=ProviderStatus.ACTIVE).values_list(
            "pk", flat=True
        )
    # Filters on the positions row itself: the KNN walk applies them as it goes.
    walk = WorkerPosition.objects.filter(
        on_shift=True,
        has_capacity=True,
        point__dwithin=(point, D(m=radius_m)),
        skills__contains=[skill],
        provider_id__in=list(provider_ids),
    ).exclude(worker_id__in=exclude_worker_ids)
    # Filters that need other rows or change by the minute, applied to the few walked.
    checks = [Q(recorded_at__gte=fresh_after)] + [
        Exists(
            Certificate.objects.filter(
                worker_id=OuterRef("worker_id"),
                kind=kind,
                expires_on__gte=timezone.localdate(now),
            )
        )
        for kind in set(required_certificates)
    ]
    rows: list = []
    for window in KNN_WINDOWS:
        rows, walked = _nearest(walk, checks, point, limit, window)
        if len(rows) >= limit or walked < (window or 0):
            break
    users = dict(Worker.objects.filter(pk__in=[r[0] for r in rows]).values_list("pk", "user_id"))
    return [
        Candidate(worker_id=w, user_id=users[w], provider_id=p, distance_m=float(d))
        for w, p, d in rows
    ]


# How many of the nearest positions passing the row's own filters to check for freshness and
# certificates: a few dozen almost always hold enough; the window widens only when they do not,
# and the last pass (None) checks every one in the radius.
KNN_WINDOWS = (40, 400, None)


def _nearest(
    walk: QuerySet, checks: list, point: Point, limit: int, window: int | None
) -> tuple[list, int]:
    """The `limit` nearest rows passing every filter, and how many the walk yielded.

    With a window, the inner `ORDER BY point <-> home LIMIT window` makes PostgreSQL walk the
    partial GiST index (on shift, spare capacity) nearest first, inside the radius's box, and
    stop after `window` rows that pass the row's own filters; a bitmap scan of every
    matchable worker in the radius costs tens of milliseconds at 100,000 workers.
    """
    distance = GeometryDistance("point", point)
    if window is None:
        qs, walked = walk, 0
    else:
        inner = walk.order_by(distance).values("worker_id")[:window]
        qs = WorkerPosition.objects.filter(worker_id__in=Subquery(inner))
        walked = -1  # unknown until counted below
    rows = list(
        qs.filter(*checks)
        .annotate(distance=distance)
        .order_by("distance")
        .values_list("worker_id", "provider_id", "distance")[:limit]
    )
    if window is not None and len(rows) < limit:
        walked = walk.order_by(distance).values("worker_id")[:window].count()
    return rows, walked


def provider_price(*, provider_id: int, service_code: str) -> ProviderService | None:
    return ProviderService.objects.filter(
        provider_id=provider_id, service_code=service_code
    ).first()


def provider_admin_ids(*, provider_id: int) -> list[int]:
    return list(
        Provider.admins.through.objects.filter(provider_id=provider_id).values_list(
            "user_id", flat=True
        )
    )


def worker_eligible(
    *, worker_id: int, provider_id: int, skill: str, required_certificates: Iterable[str]
) -> Worker | None:
    """A provider's own worker with the skill and an unexpired certificate of each kind
    (position and shift are the provider's business when it assigns its own staff)."""
    qs = Worker.objects.select_related("user").filter(
        pk=worker_id, provider_id=provider_id, skills__contains=[skill]
    )
    for kind in set(required_certificates):
        qs = qs.filter(
            Exists(
                Certificate.objects.filter(
                    worker_id=OuterRef("pk"), kind=kind, expires_on__gte=timezone.localdate()
                )
            )
        )
    return qs.first()


def worker_for_user(*, user_id: int) -> Worker | None:

    return Worker.objects.select_related("provider").filter(user_id=user_id).first()
