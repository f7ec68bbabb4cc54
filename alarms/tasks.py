"""The alarms' sweep, on the alarm queue and its own worker (backend/core/queues.py): every
couple of seconds from beat, it acts on every alarm deadline that has come (docs/alarms.md).

The rows are the truth: nothing waits in a Celery countdown. Each alarm is its own transaction,
locked and re-checked against its deadline (services), so a sweep that runs twice, or a message
redelivered after a worker died (acks_late, reject_on_worker_lost), acts once.
"""

import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Min, QuerySet
from django.utils import timezone

from backend.core.batches import delete_in_batches
from backend.core.shards import shard_lock, shard_name
from backend.core.sweeps import (
    alone,
    in_district_shard,
    in_shard,
    shard_districts,
    steps_run,
)
from backend.core.watchdog import heartbeat_record

from . import devices, services
from .models import DeviceMessage, MessageKind

# The most alarms one step takes in one run; the rest wait for the next run, seconds later.
SWEEP_BATCH = 200
# The key of the PostgreSQL advisory lock the sweep holds while it runs ("anxin" + "SA").
SWEEP_LOCK = 0x616E78696E_5341
TIMER = "alarms.tasks.alarms_sweep"


@shared_task(acks_late=True)
def alarms_sweep(shard: int = 0, shards: int = 1) -> dict[str, int] | dict[str, str]:
    """Dispatch alarms nobody acknowledged in their kind's time, re-send those not acknowledged
    within the target, push again those nobody has seen; in that order. Split `shards` ways
    (ANXIN_ALARM_SWEEP_SHARDS, backend/core/shards.py), this run's share of the districts."""
    with alone(shard_lock(SWEEP_LOCK, shard, shards)) as held:
        if not held:
            return {"skipped": "another sweep is running"}
        done = _sweep(timezone.now(), shard=shard, shards=shards)
        # For the watchdog: the alarms' sweep (of these districts) is alive.
        heartbeat_record(name=shard_name(TIMER, shard, shards))
        return done


def _ids(qs: QuerySet, deadline: str) -> list[int]:
    return list(qs.order_by(deadline).values_list("pk", flat=True)[:SWEEP_BATCH])


def _steps(
    now: datetime, *, shard: int = 0, shards: int = 1
) -> Iterable[tuple[str, Callable[[], list[int]], Callable[[int], bool]]]:
    # The shard's districts, read once for the run's three steps.
    districts = shard_districts(shard, shards) if shards > 1 else None

    def mine(qs: QuerySet) -> QuerySet:
        return in_district_shard(qs, shard, shards, districts)

    yield (
        "alarms_dispatched",
        lambda: _ids(mine(services.alarms_due_for_dispatch(now)), "dispatch_due_at"),
        lambda pk: services.alarm_dispatch_overdue(alarm_id=pk),
    )
    yield (
        "alarms_resent",
        lambda: _ids(mine(services.alarms_due_for_resend(now)), "resend_at"),
        lambda pk: services.alarm_resend(alarm_id=pk),
    )
    yield (
        "alarms_announced",
        lambda: _ids(mine(services.alarms_due_for_announce(now)), "announce_at"),
        lambda pk: services.alarm_announce(alarm_id=pk),
    )


def _sweep(now: datetime, *, shard: int = 0, shards: int = 1) -> dict[str, int]:
    return steps_run(_steps(now, shard=shard, shards=shards))


# The device lane (docs/alarms.md, "Heartbeats"): low priority, on its own queue and worker.

# How long one run of device_messages_apply_pending goes on taking batches: under its period.
APPLY_BUDGET_S = 4.0
# The key of the device sweep's advisory lock ("anxin" + "SD").
DEVICE_SWEEP_LOCK = 0x616E78696E_5344


@shared_task(acks_late=True)
def device_messages_apply_pending(shard: int = 0, shards: int = 1) -> dict[str, int]:
    """What devices' heartbeats and battery reports lead to (alarms/devices.py), for every
    device with messages not yet applied, oldest first: beat sends it every few seconds. Two
    runs at once are harmless (each device's status is locked, a held one skipped). Batch after
    batch until none is left or APPLY_BUDGET_S has passed (the next run goes on from there).
    Split `shards` ways (ANXIN_DEVICE_APPLY_SHARDS), this run's share of the devices: one run
    applies one device after another, and a province's heartbeats outrun one."""
    total: dict[str, int] = {"devices_applied": 0, "items_failed": 0, "batches": 0}
    started = time.monotonic()
    while True:
        done = steps_run([_apply_pending_step(shard=shard, shards=shards)])
        total["batches"] += 1
        for name in ("devices_applied", "items_failed"):
            total[name] += done[name]
        if done["devices_applied"] == 0 or time.monotonic() - started > APPLY_BUDGET_S:
            return total


@shared_task(acks_late=True)
def devices_sweep() -> dict[str, int] | dict[str, str]:
    """Watch new devices, stop watching deactivated ones and watch reactivated ones afresh,
    apply messages the 5 s task has not reached yet, raise `device_offline` for the devices
    gone quiet, end the problems of deactivated devices; in that order (so a message taken in
    but not yet applied is never mistaken for silence)."""
    with alone(DEVICE_SWEEP_LOCK) as held:
        if not held:
            return {"skipped": "another sweep is running"}
        now = timezone.now()
        done = {"devices_watched": devices.devices_watch(limit=SWEEP_BATCH)}
        return {**done, **steps_run(_device_steps(now))}


def _device_steps(
    now: datetime,
) -> Iterable[tuple[str, Callable[[], list[int]], Callable[[int], bool]]]:
    yield (
        "devices_rewatched",
        lambda: _ids(devices.devices_watch_changed(), "watched_since"),
        lambda pk: devices.device_watch_sync(device_id=pk),
    )
    yield _apply_pending_step()
    yield (
        "devices_offline",
        lambda: _ids(devices.devices_due_offline(now), "offline_at"),
        lambda pk: devices.device_offline_raise(device_id=pk),
    )
    yield (
        "problems_retired",
        lambda: _ids(devices.problems_of_inactive_devices(), "opened_at"),
        lambda pk: devices.device_problem_retire(problem_id=pk),
    )


def _apply_pending_step(
    *, shard: int = 0, shards: int = 1
) -> tuple[str, Callable[[], list[int]], Callable[[int], bool]]:
    return (
        "devices_applied",
        lambda: list(
            in_shard(devices.devices_with_unapplied(), "device_id", shard, shards)
            .values("device_id")
            .annotate(first=Min("received_at"))
            .order_by("first")
            .values_list("device_id", flat=True)[:SWEEP_BATCH]
        ),
        lambda pk: devices.device_messages_apply(device_id=pk, wait=False) > 0,
    )


@shared_task(acks_late=True)
def device_messages_purge() -> dict[str, int]:
    """Heartbeats and battery reports older than ANXIN["DEVICE_MESSAGE_KEEP_DAYS"] go, in
    batches; a message linked to an alarm stays with it, and so does one not applied yet."""
    keep = timedelta(days=settings.ANXIN["DEVICE_MESSAGE_KEEP_DAYS"])
    old = DeviceMessage.objects.filter(
        kind__in=[MessageKind.HEARTBEAT, MessageKind.LOW_BATTERY],
        alarm__isnull=True,
        applied=True,
        received_at__lt=timezone.now() - keep,
    )
    return {"device_messages": delete_in_batches(old)}
