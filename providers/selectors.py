from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.gis.db.models.functions import GeometryDistance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.db.models import F
from django.utils import timezone

from .models import ProviderStatus, ShiftState, Worker, WorkerPosition


@dataclass(frozen=True)
class Candidate:
    worker_id: int
    user_id: int
    distance_m: float


def workers_nearest(
    *,
    point: Point,
    skill: str,
    radius_m: float,
    exclude_worker_ids: frozenset[int] = frozenset(),
    limit: int = 10,
) -> list[Candidate]:
    """Eligible workers nearest first: KNN (`<->`) on the GiST index of the positions table.

    Eligible means on shift, with the skill, spare capacity, an active provider and a position
    fresh enough to trust, within `radius_m` metres (geography, so metres are metres).
    """
    fresh_after = timezone.now() - timedelta(seconds=settings.ANXIN["LOCATION_MAX_AGE_S"])
    rows = (
        WorkerPosition.objects.filter(
            point__dwithin=(point, D(m=radius_m)),
            recorded_at__gte=fresh_after,
            worker__shift_state=ShiftState.ON,
            worker__skills__contains=[skill],
            worker__active_jobs__lt=F("worker__capacity"),
            worker__provider__status=ProviderStatus.ACTIVE,
        )
        .exclude(worker_id__in=exclude_worker_ids)
        .annotate(distance=GeometryDistance("point", point))
        .order_by("distance")
        .values_list("worker_id", "worker__user_id", "distance")[:limit]
    )
    return [Candidate(worker_id=w, user_id=u, distance_m=float(d)) for w, u, d in rows]


def worker_for_user(*, user_id: int) -> Worker | None:
    return Worker.objects.select_related("provider").filter(user_id=user_id).first()
