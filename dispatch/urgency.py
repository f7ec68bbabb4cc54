"""Which work is urgent: the one rule behind the urgent queue and the urgent sweep.

Work serving an emergency (its matching, offers and their expiry, its contacts' SMS and calls)
goes to the urgent queue and the urgent sweep; everything else to the routine ones. Alarms
(issue 13) join here. `Priority.URGENT` is not urgent in this sense: it is routine work that
is matched sooner.
"""

from typing import Any

from celery import Task
from django.db.models import Q

from backend.core.side_effects import enqueue_after_commit

from .models import Priority, ServiceRequest

URGENT_PRIORITIES = frozenset({Priority.EMERGENCY})


def request_is_urgent(sr: ServiceRequest) -> bool:
    return sr.priority in URGENT_PRIORITIES


def urgent_q(priority: str = "priority") -> Q:
    """Rows whose work order (`priority` is the path to its priority) is urgent."""
    return Q(**{f"{priority}__in": URGENT_PRIORITIES})


def enqueue_for_request(
    sr: ServiceRequest, task: Task, *args: Any, countdown: float | None = None
) -> None:
    """Send `task` after commit for work on `sr`: on the urgent queue when `sr` is urgent."""
    enqueue_after_commit(task, *args, countdown=countdown, urgent=request_is_urgent(sr))
