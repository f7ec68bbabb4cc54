"""Reads of the provider registry, scoped to what the caller may see; matching's candidate
search lives here because it reads only this app's tables."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from backend.accounts.models import Role, User

from .models import (
    Certificate,
    Provider,
    ProviderChange,
    ProviderService,
    ProviderStatus,
    Worker,
)


@dataclass(frozen=True)
class Candidate:
    worker_id: int
    user_id: int
    provider_id: int
    distance_m: float


def providers_visible_to(user: User) -> QuerySet[Provider]:
    if user.is_district_staff:
        return Provider.objects.filter(district_id=user.staff_district_id)
    if user.role == Role.PROVIDER_ADMIN:
        return Provider.objects.filter(admins=user)
    return Provider.objects.none()


def provider_changes_visible_to(user: User) -> QuerySet[ProviderChange]:
    """Change requests of the providers the caller may see, newest first."""
    return (
        ProviderChange.objects.filter(provider__in=providers_visible_to(user))
        .select_related("requested_by", "decided_by")
        .order_by("-requested_at", "-pk")
    )


def workers_visible_to(user: User) -> QuerySet[Worker]:
    if user.is_district_staff:
        return Worker.objects.filter(provider__district_id=user.staff_district_id)
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
    if provider_ids is None:
        provider_ids = Provider.objects.filter(status=ProviderStatus.ACTIVE).values_list(
            "pk", flat=True
        )
    provider_ids = list(provider_ids)
    if not provider_ids or limit <= 0:
        return []
    now = timezone.now()
    params: dict[str, Any] = {
        "home": point.ewkt,
        "radius": radius_m,
        "skills": [skill],
        "providers": provider_ids,
        "exclude": sorted(exclude_worker_ids),
        "fresh_after": now - timedelta(seconds=settings.ANXIN["LOCATION_MAX_AGE_S"]),
        "certificates": sorted(set(required_certificates)),
        "today": timezone.localdate(now),
        "limit": limit,
    }
    rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for window in KNN_WINDOWS:
            cursor.execute(NEAREST_SQL, {**params, "window": window})
            rows = cursor.fetchall()
            walked = rows[0][4] if rows else 0
            if len([r for r in rows if r[0] is not None]) >= limit or walked < (window or 0):
                break
    return [
        Candidate(worker_id=w, user_id=u, provider_id=p, distance_m=float(d))
        for w, u, p, d, _ in rows
        if w is not None
    ]


# How many of the nearest positions passing the row's own filters to check for freshness and
# certificates: a few dozen almost always hold enough; the window widens only when they do not,
# and the last pass (None: no LIMIT) checks every one in the radius.
KNN_WINDOWS = (40, 400, None)

# One statement, so that matching costs one round trip. `walk` is the KNN walk of the partial
# GiST index `position_matchable` (on shift, spare capacity), nearest first inside the radius,
# applying the row's own filters as it goes and stopping after `window` rows; the outer query
# checks freshness and certificates on those few and joins the user to notify. The LEFT JOIN
# from the count keeps one row even when nobody qualifies, so the caller learns how many were
# walked (fewer than the window: the radius holds no more, widening would find nothing).
# Parameters are bound client-side (Django's default), so the planner sees the constants and
# can match the partial index.
NEAREST_SQL = """
WITH walk AS MATERIALIZED (
    SELECT p.worker_id, p.provider_id, p.recorded_at, p.point <-> %(home)s::geography AS d
    FROM providers_workerposition p
    WHERE p.on_shift AND p.has_capacity
      AND ST_DWithin(p.point, %(home)s::geography, %(radius)s)
      AND p.skills @> %(skills)s::varchar(30)[]
      AND p.provider_id = ANY(%(providers)s::bigint[])
      AND NOT (p.worker_id = ANY(%(exclude)s::bigint[]))
    ORDER BY p.point <-> %(home)s::geography
    LIMIT %(window)s
)
SELECT ok.worker_id, ok.user_id, ok.provider_id, ok.d, n.walked
FROM (SELECT count(*) AS walked FROM walk) n
LEFT JOIN LATERAL (
    SELECT w.worker_id, wk.user_id, w.provider_id, w.d
    FROM walk w JOIN providers_worker wk ON wk.id = w.worker_id
    WHERE w.recorded_at >= %(fresh_after)s
      AND NOT EXISTS (
        SELECT 1 FROM unnest(%(certificates)s::varchar[]) AS need(kind)
        WHERE NOT EXISTS (
            SELECT 1 FROM providers_certificate c
            WHERE c.worker_id = w.worker_id AND c.kind = need.kind
              AND c.expires_on >= %(today)s
        )
      )
    ORDER BY w.d
    LIMIT %(limit)s
) ok ON true
"""


def provider_price(*, provider_id: int, service_code: str) -> ProviderService | None:
    return ProviderService.objects.filter(
        provider_id=provider_id, service_code=service_code
    ).first()


def provider_admin_users(*, provider_id: int) -> QuerySet[Any, int]:
    """The user ids of the provider's admins, as a query (to be combined with others)."""
    return Provider.admins.through.objects.filter(provider_id=provider_id).values_list(
        "user_id", flat=True
    )


def provider_admin_ids(*, provider_id: int) -> list[int]:
    return list(provider_admin_users(provider_id=provider_id))


def worker_user(*, worker_id: int) -> QuerySet[Worker, int]:
    """The worker's user id, as a query (to be combined with others)."""
    return Worker.objects.filter(pk=worker_id).values_list("user_id", flat=True)


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
