"""Side effects leave only after the transaction commits, through this one helper."""

from typing import Any

import structlog
from celery import Task
from django.db import transaction

from .queues import URGENT, queue

log = structlog.get_logger(__name__)

# One retry: enough to replace a pooled connection that a broker restart closed, short enough
# that a broker that is down costs the request a fraction of a second. Together with the socket
# timeouts in CELERY_BROKER_TRANSPORT_OPTIONS this bounds the wait on a broker that hangs.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.1, "interval_step": 0.2}


def enqueue_after_commit(
    task: Task,
    *args: Any,
    countdown: float | None = None,
    urgent: bool = False,
    **kwargs: Any,
) -> None:
    """Send `task` once the transaction commits; if the broker refuses, log it and carry on.

    `urgent`: the work serves an emergency, so it goes to the urgent queue instead of the task's
    own (backend/core/queues.py); dispatch decides it from the work order (dispatch/urgency.py).

    The work is already committed, so raising would only turn it into an error for the caller
    (who then retries and duplicates it). Deadlines live in the database, so the sweeper finds a
    lost match or offer expiry; a lost notification is only in the log line.
    """

    route = {"queue": queue(URGENT)} if urgent else {}

    def send() -> None:
        try:
            task.apply_async(
                args=args,
                kwargs=kwargs,
                countdown=countdown,
                retry_policy=PUBLISH_RETRY_POLICY,
                **route,
            )
        except Exception:  # the commit stands whatever the broker does
            # Ids help whoever reads the log; phone numbers and message text stay out of it.
            shown = [arg if isinstance(arg, int) else "..." for arg in args]
            log.error("enqueue_failed", task=task.name, args=shown, exc_info=True)

    transaction.on_commit(send)
