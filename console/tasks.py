from celery import shared_task

from .positions import worker_positions_push


@shared_task(acks_late=True)
def map_positions_push() -> dict[str, int]:
    """The map's batch of moved workers, every ANXIN_MAP_PUSH_S seconds (console/positions.py)."""
    return worker_positions_push()
