"""The map's live positions, batched: every ANXIN_MAP_PUSH_S seconds one message per district
with the on-shift workers whose position was recorded since the last batch,
`{"type": "workers.positions", "data": {"workers": [...]}}`, to the district's staff group. Not
one message per position report (every few seconds from every worker), and no Event row: a
position is not an audited change of state. A hint like every push: a page loads the snapshot
(console/views/map.py) on load and after a reconnect, and a batch lost is followed by the next."""

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from backend.core.events import district_group, layer_send
from providers.models import WorkerPosition

CURSOR_KEY = "console:map:positions-after"
# A position's row is written by one short statement whose time is its transaction's start: one
# that began before a batch read and committed after it is older than the batch's cursor. Each
# batch reads this far behind the last one's cursor, so such a row is sent (twice at worst).
OVERLAP = timedelta(seconds=2)


def positions_message(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The channel-layer message of a batch (the consumer relays `data` as it is)."""
    return {"type": "workers.positions", "data": {"workers": rows}}


def worker_positions_push() -> dict[str, int]:
    """Send each district its batch of moved on-shift workers; how many districts and workers
    were sent."""
    period = timedelta(seconds=settings.ANXIN_MAP_PUSH_S)
    with transaction.atomic():
        with connection.cursor() as cursor:  # the database's clock, the one positions are on
            cursor.execute("SELECT clock_timestamp()")
            now: datetime = cursor.fetchone()[0]
        after = cache.get(CURSOR_KEY) or now - period
        rows = (
            WorkerPosition.objects.filter(on_shift=True, recorded_at__gt=after - OVERLAP)
            .values_list(
                "worker_id", "point", "recorded_at", "has_capacity", "provider__district_id"
            )
            .order_by("worker_id")
        )
        batches: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for worker_id, point, recorded_at, has_capacity, district_id in rows:
            if district_id is None:
                continue
            batches[district_id].append(
                {
                    "id": worker_id,
                    "at": [round(point.x, 7), round(point.y, 7)],
                    "recorded_at": recorded_at.isoformat(),
                    "busy": not has_capacity,
                }
            )
    cache.set(CURSOR_KEY, now, timeout=3600)
    for district_id, workers in batches.items():
        layer_send(
            [district_group(district_id)],
            positions_message(workers),
            hint=True,
            district=district_id,
            workers=len(workers),
        )
    return {"districts": len(batches), "workers": sum(map(len, batches.values()))}
