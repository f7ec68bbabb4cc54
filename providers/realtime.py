from typing import Any

from backend.accounts.models import User
from backend.core.geo import PositionSerializer
from backend.core.realtime import MessageRefused

from .selectors import worker_id_for_user
from .services import worker_position_record


def location_message(user: User, data: dict[str, Any]) -> dict[str, Any]:
    """`{"type": "location", "data": {"location": GeoJSON Point, "crs": "wgs84"|"gcj02"}}`
    from a worker's app; answered with `location.ack` and whether it was stored."""
    # The user object lives as long as the socket: nothing about the worker is kept on it.
    worker_id = worker_id_for_user(user_id=user.pk)
    if worker_id is None:
        raise MessageRefused("not_a_worker")
    position = PositionSerializer(data=data)
    if not position.is_valid():
        raise MessageRefused(
            "invalid", {k: [str(e) for e in v] for k, v in position.errors.items()}
        )
    return {"stored": worker_position_record(worker_id=worker_id, point=position.to_point())}
