"""The alarms' sweep, on the alarm queue and its own worker (backend/core/queues.py): every
couple of seconds from beat, it acts on every alarm deadline that has come (docs/alarms.md).

The rows are the truth: nothing waits in a Celery countdown. Each alarm is its own transaction,
locked and re-checked against its deadline (services), so a sweep that runs twice, or a message
redelivered after a worker died (acks_late, reject_on_worker_lost), acts once.
"""

from collections.abc import Callable, Iterable
from datetime import datetime

import structlog
from celery import shared_task
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from backend.core.watchdog import heartbeat_record

from . import services

log = structlog.get_logger(__name__)

# The most alarms one step takes in one run; the rest wait for the next run, seconds later.
SWEEP_BATCH = 200
# The key of the PostgreSQL advisory lock the sweep holds while it runs ("anxin" + "SA").
SWEEP_LOCK = 0x616E78696E_5341
TIMER = "alarms.tasks.alarms_sweep"


@shared_task(acks_late=True)
def alarms_sweep() -> dict[str, int] | dict[str, str]:
    """Dispatch alarms nobody acknowledged in their kind's time, re-send those not acknowledged
    within the target, push again those nobody has seen; in that order."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SWEEP_LOCK])
        if not cursor.fetchone()[0]:
            return {"skipped": "another sweep is running"}
    try:
        done = _sweep(timezone.now())
        heartbeat_record(name=TIMER)  # for the watchdog: the alarms' sweep is alive
        return done
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SWEEP_LOCK])


def _ids(qs: QuerySet, deadline: str) -> list[int]:
    return list(qs.order_by(deadline).values_list("pk", flat=True)[:SWEEP_BATCH])


def _steps(now: datetime) -> Iterable[tuple[str, Callable[[], list[int]], Callable[[int], bool]]]:
    yield (
        "alarms_dispatched",
        lambda: _ids(services.alarms_due_for_dispatch(now), "dispatch_due_at"),
        lambda pk: services.alarm_dispatch_overdue(alarm_id=pk),
    )
    yield (
        "alarms_resent",
        lambda: _ids(services.alarms_due_for_resend(now), "resend_at"),
        lambda pk: services.alarm_resend(alarm_id=pk),
    )
    yield (
        "alarms_announced",
        lambda: _ids(services.alarms_due_for_announce(now), "announce_at"),
        lambda pk: services.alarm_announce(alarm_id=pk),
    )


def _sweep(now: datetime) -> dict[str, int]:
    done: dict[str, int] = {}
    failed = 0
    for name, due, act in _steps(now):
        done[name] = 0
        try:
            ids = due()
        except Exception:  # a step whose scan fails must not keep the later ones from running
            failed += 1
            log.exception("sweep_step_failed", step=name)
            continue
        for pk in ids:
            try:
                done[name] += int(act(pk))
            except Exception:
                failed += 1
                log.exception("sweep_item_failed", step=name, id=pk)
    done["items_failed"] = failed
    return done
