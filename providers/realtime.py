from typing import Any

from backend.accounts.models import Role, User
from backend.core.geo import PositionSerializer
from backend.core.realtime import MessageRefused

from .services import worker_position_record_for_user


def location_message(user: User, data: dict[str, Any]) -> dict[str, Any]:
    """`{"type": "location", "data": {"location": GeoJSON Point, "crs": "wgs84"|"gcj02"}}`
    from a worker's app; answered with `location.ack` and whether it was stored."""
    # The user object lives as long as the socket: nothing about the worker is kept on it. The
    # worker is found by the statement that stores the position; a user who is no worker is
    # refused before the message is read.
    if user.role != Role.WORKER:
        raise MessageRefused("not_a_worker")
    position = PositionSerializer(data=data)
    if not position.is_valid():
        raise MessageRefused(
            "invalid", {k: [str(e) for e in v] for k, v in position.errors.items()}
        )
    stored = worker_position_record_for_user(user_id=user.pk, point=position.to_point())
    if stored is None:
        raise MessageRefused("not_a_worker")
    return {"stored": stored}
