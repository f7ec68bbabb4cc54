"""How far the worker still is, while on the way: what the family page and the worker app show
of a work order that is en route. The distance is pushed over /ws/ as a worker's position is
stored (at most once per worker per LOCATION_MIN_INTERVAL_S); it is never an Event: it changes
every few seconds, means nothing once the worker is at the door, and a page that missed one
reads the latest from the worker's last-known position when it renders."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.utils import timezone

from backend.core.events import layer_send, user_group
from elders.selectors import elder_family_users

from .models import RequestState, ServiceRequest

# The push's type on /ws/ (`{"type": "request.distance", "data": {...}}`, no id).
DISTANCE_PUSH = "request.distance"


@dataclass(frozen=True)
class HowFar:
    distance_m: float
    at: datetime  # when the worker's phone was there


def en_route_distances(request_ids: list[int]) -> dict[int, HowFar]:
    """The distance from the assigned worker's last-known position to the elder's home, for
    each of these work orders that is en route (one query)."""
    rows = (
        ServiceRequest.objects.filter(
            pk__in=request_ids,
            state=RequestState.EN_ROUTE,
            assigned_worker__position__isnull=False,
        )
        .annotate(
            metres=Distance("elder__location", "assigned_worker__position__point"),
        )
        .values_list("pk", "metres", "assigned_worker__position__recorded_at")
    )
    return {pk: HowFar(metres.m, at) for pk, metres, at in rows}


def distance_data(request_id: int, found: HowFar) -> dict[str, object]:
    """What a push (and the page's first render) says: metres, rounded, and when."""
    return {
        "request": request_id,
        "distance_m": round(found.distance_m),
        "at": found.at.isoformat().replace("+00:00", "Z"),
    }


def en_route_distance_push(worker_id: int, point: Point) -> None:
    """Listener of providers' ON_A_JOB_POSITION: for each work order this worker is on the way
    to, push the distance from `point` to the elder's home to the elder's family and to the
    worker (their app shows it too). Hints only: a push lost is the next one."""
    rows = list(
        ServiceRequest.objects.filter(assigned_worker_id=worker_id, state=RequestState.EN_ROUTE)
        .annotate(metres=Distance("elder__location", point))
        .values_list("pk", "elder_id", "metres", "assigned_worker__user_id")
    )
    now = timezone.now()
    for pk, elder_id, metres, worker_user_id in rows:
        users = {*elder_family_users(elder_id=elder_id), worker_user_id}
        layer_send(
            [user_group(uid) for uid in sorted(users)],
            {
                "type": "live.hint",
                "kind": DISTANCE_PUSH,
                "data": distance_data(pk, HowFar(metres.m, now)),
            },
            hint=True,
            request=pk,
        )
