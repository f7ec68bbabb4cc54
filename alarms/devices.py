"""The device lane (docs/alarms.md, "Heartbeats"): what a device's messages lead to, apart from
alarms. Each message taken in is a durable `DeviceMessage`; here it is applied: the device was
heard (by the server's clock), its battery is read, a missed-heartbeat problem ends, a low
battery opens a maintenance task. The device sweep finds devices gone quiet and applies what
a lost enqueue left. Low priority: nothing here re-sends, escalates, or looks like an alarm.

The lane's lock is the device's `DeviceStatus` row, then its problems, in that order. The
device's own row is the alarm path's: the lane locks it last, for the one short UPDATE of its
last heartbeat and battery before the commit, so an alarm never waits on the lane for longer.
Every function here is safe to run twice: it re-reads under the lock and does nothing when the
work is done.
"""

from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import StateConflict
from backend.core.events import event_record
from elders.models import AlarmDevice
from elders.services import device_seen

from .models import (
    DeviceMessage,
    DeviceProblem,
    DeviceStatus,
    MessageKind,
    ProblemKind,
    ProblemResolution,
    ProblemState,
)

log = structlog.get_logger(__name__)

# The most messages of one device applied in one transaction; a task goes on until none is left.
APPLY_BATCH = 500

# The life of a problem: (state, event) -> state. Only a maintenance task is closed by hand;
# an offline device's problem ends when it is heard again (or deactivated).
PROBLEM_MOVES: dict[tuple[str, str], str] = {
    ("", "open"): ProblemState.OPEN,
    (ProblemState.OPEN, "back"): ProblemState.ENDED,
    (ProblemState.OPEN, "retire"): ProblemState.ENDED,
    (ProblemState.OPEN, "close"): ProblemState.ENDED,
}
CLOSABLE_BY_HAND = frozenset({ProblemKind.LOW_BATTERY})
# The audit row of each move, by the problem's kind.
PROBLEM_EVENTS: dict[tuple[str, str], str] = {
    (ProblemKind.OFFLINE, "open"): "device.offline",
    (ProblemKind.OFFLINE, "back"): "device.online",
    (ProblemKind.LOW_BATTERY, "open"): "device.low_battery",
    (ProblemKind.LOW_BATTERY, "back"): "device.battery_ok",
    (ProblemKind.LOW_BATTERY, "close"): "device.maintenance_closed",
    (ProblemKind.OFFLINE, "retire"): "device.problem_retired",
    (ProblemKind.LOW_BATTERY, "retire"): "device.problem_retired",
}
_RESOLUTIONS = {
    "back": ProblemResolution.BACK,
    "close": ProblemResolution.CLOSED,
    "retire": ProblemResolution.RETIRED,
}


def offline_deadline(since: datetime, interval_s: int) -> datetime:
    """When a device heard at `since` (server time) is offline if nothing more is received:
    DEVICE_OFFLINE_AFTER_BEATS heartbeats missed, plus DEVICE_OFFLINE_SLACK_S."""
    beats = settings.ANXIN["DEVICE_OFFLINE_AFTER_BEATS"]
    return since + timedelta(seconds=interval_s * beats + settings.ANXIN["DEVICE_OFFLINE_SLACK_S"])


def _status_locked(device_id: int, *, wait: bool = True) -> DeviceStatus | None:
    """The device's status row, made if it has none, and locked: the device lane's lock on the
    device. None if another holds it and `wait` is false (a sweep comes back to it), or if the
    device is gone. Must run inside a transaction."""
    device = AlarmDevice.objects.select_related("elder").filter(pk=device_id).first()
    if device is None:
        return None
    rows = DeviceStatus.objects.select_for_update(skip_locked=not wait).filter(pk=device_id)
    status = rows.first()
    if status is None and not DeviceStatus.objects.filter(pk=device_id).exists():
        # Watched from its first message waiting to be applied, if any: silence counts from it.
        pending = DeviceMessage.objects.filter(device_id=device_id, applied=False)
        since = pending.aggregate(at=Min("received_at"))["at"] or timezone.now()
        new = DeviceStatus(
            device=device,
            watched_since=since,
            offline_at=offline_deadline(since, device.heartbeat_interval_s),
        )
        DeviceStatus.objects.bulk_create([new], ignore_conflicts=True)  # or the sweep made it
        status = rows.first()
    if status is not None:
        status.device = device  # read above, unlocked: the alarm path's row
    return status


# Applying messages


def device_messages_apply(*, device_id: int, wait: bool = True) -> int:
    """Apply every message of the device not applied yet (the device lane's task, and the
    sweep's catch-up). Returns how many were applied: 0 when another did it already."""
    applied = 0
    while True:
        with transaction.atomic():
            status = _status_locked(device_id, wait=wait)
            if status is None:
                return applied
            done = _apply_pending(status, timezone.now())
        applied += done
        if done < APPLY_BATCH:
            return applied


def _apply_pending(status: DeviceStatus, now: datetime) -> int:
    """Precondition: the caller holds the status row's lock."""
    device = status.device
    pending = list(
        DeviceMessage.objects.filter(device=device, applied=False).order_by("at", "pk")[
            :APPLY_BATCH
        ]
    )
    if not pending:
        return 0
    readings = [m for m in pending if m.battery is not None or m.kind == MessageKind.LOW_BATTERY]
    if readings:
        closed = _battery_closed_at(device)
        readings = [m for m in readings if closed is None or m.received_at > closed]
    if readings:  # the latest by the device's clock says how the battery is now
        _battery_read(device, status, readings[-1], now)
    heard = max(message.received_at for message in pending)
    if status.last_received_at is None or heard > status.last_received_at:
        status.last_received_at = heard
    status.offline_at = _deadline(status) if device.active else None
    offline = _open_problem(device, ProblemKind.OFFLINE)
    if offline is not None:  # any message received: the device is back
        _problem_move(offline, "back", data={"heard_at": _iso(heard)})
    status.save()
    DeviceMessage.objects.filter(pk__in=[m.pk for m in pending]).update(applied=True)
    _device_seen(device.pk, pending)
    return len(pending)


def _device_seen(device_id: int, messages: list[DeviceMessage]) -> None:
    """The device's last heartbeat and battery (its own row, shown with the device), as the
    messages in order would leave them; the last statements of the lane's transaction, so the
    alarm path's lock on the row waits for a commit at most."""
    latest = messages[-1]
    with_battery = [m for m in messages if m.battery is not None]
    device = AlarmDevice.objects.select_for_update(no_key=True).get(pk=device_id)
    if with_battery and with_battery[-1] is not latest:
        device_seen(device=device, at=with_battery[-1].at, battery=with_battery[-1].battery)
    device_seen(device=device, at=latest.at, battery=latest.battery)


def _battery_closed_at(device: AlarmDevice) -> datetime | None:
    """When staff last closed the device's maintenance task by hand (server time): a reading
    received before then no longer counts, whatever the device's clock says."""
    closed = DeviceProblem.objects.filter(
        device=device, kind=ProblemKind.LOW_BATTERY, resolution=ProblemResolution.CLOSED
    )
    return closed.aggregate(at=Max("ended_at"))["at"]


def _battery_read(
    device: AlarmDevice, status: DeviceStatus, message: DeviceMessage, now: datetime
) -> None:
    """A battery reading opens the maintenance task (below DEVICE_BATTERY_LOW_PCT, or a
    low_battery message) or clears it (DEVICE_BATTERY_OK_PCT or above); in between, nothing
    changes. A reading older (device's clock) than one already taken is ignored; readings
    received before a close by hand are left out by the caller (_battery_closed_at)."""
    low_kind = message.kind == MessageKind.LOW_BATTERY
    if status.battery_at is not None and message.at <= status.battery_at:
        return
    status.battery_at = message.at
    level = message.battery
    low = low_kind or (level is not None and level < settings.ANXIN["DEVICE_BATTERY_LOW_PCT"])
    ok = not low and level is not None and level >= settings.ANXIN["DEVICE_BATTERY_OK_PCT"]
    task = _open_problem(device, ProblemKind.LOW_BATTERY)
    if low and task is None:
        _problem_open(device, ProblemKind.LOW_BATTERY, now, battery=level)
    elif ok and task is not None:
        _problem_move(task, "back", data={"battery": level})


# The device sweep's steps


def _deadline(status: DeviceStatus) -> datetime:
    """The offline deadline: the grace from the later of the last message received and when the
    device was watched afresh (a device reactivated after months in a drawer gets its full
    grace), with the device's interval as it is now."""
    since = max(status.last_received_at or status.watched_since, status.watched_since)
    return offline_deadline(since, status.device.heartbeat_interval_s)


def devices_unwatched() -> QuerySet[AlarmDevice]:
    return AlarmDevice.objects.filter(status__isnull=True)


def devices_watch(*, limit: int) -> int:
    """Give devices that have no status yet (new, or from before the device lane) one. An
    active one is watched from now on: silence counts from its latest message if any; a device
    never heard from is given the same grace from now, and is offline after it like any other
    (docs/alarms.md). An inactive one is not watched until it is reactivated."""
    now = timezone.now()
    rows = (
        devices_unwatched()
        .annotate(heard=Max("messages__received_at"))
        .values_list("pk", "heartbeat_interval_s", "heard", "active")[:limit]
    )
    made = DeviceStatus.objects.bulk_create(
        [
            DeviceStatus(
                device_id=pk,
                watched_since=heard or now,
                last_received_at=heard,
                offline_at=offline_deadline(heard or now, interval_s) if active else None,
            )
            for pk, interval_s, heard, active in rows
        ],
        ignore_conflicts=True,  # the device lane made it meanwhile
    )
    return len(made)


def devices_watch_changed() -> QuerySet[DeviceStatus]:
    """Statuses not matching their device's `active`: a deactivated device still watched, or a
    (re)activated one not watched (no deadline, and no open offline problem)."""
    offline = DeviceProblem.objects.filter(
        device_id=OuterRef("device_id"), kind=ProblemKind.OFFLINE, state=ProblemState.OPEN
    )
    return DeviceStatus.objects.filter(
        Q(device__active=False, offline_at__isnull=False)
        | Q(device__active=True, offline_at__isnull=True) & ~Exists(offline)
    )


def device_watch_sync(*, device_id: int) -> bool:
    """A deactivated device is no longer watched (it is silent on purpose); a device used again
    is watched afresh from now, with its full grace however long ago it was last heard. False if
    nothing was to change, or the device is held."""
    with transaction.atomic():
        status = _status_locked(device_id, wait=False)
        if status is None:
            return False
        device = status.device
        if not device.active:
            if status.offline_at is None:
                return False
            status.offline_at = None
            status.save(update_fields=["offline_at"])
            log.info("device_unwatched", device=device_id)
            return True
        if status.offline_at is not None or _open_problem(device, ProblemKind.OFFLINE):
            return False
        status.watched_since = timezone.now()
        status.offline_at = _deadline(status)
        status.save(update_fields=["watched_since", "offline_at"])
        log.info("device_watched_afresh", device=device_id)
        return True


def devices_with_unapplied() -> QuerySet[DeviceMessage]:
    return DeviceMessage.objects.filter(applied=False)


def devices_due_offline(now: datetime) -> QuerySet[DeviceStatus]:
    return DeviceStatus.objects.filter(offline_at__lte=now, device__active=True)


def device_offline_raise(*, device_id: int) -> bool:
    """The device has been silent past its deadline: a `device_offline` problem, once for the
    episode (it ends with the next message received). False if it was heard meanwhile (a
    message the lane had not applied yet counts), is already offline, or is held."""
    with transaction.atomic():
        status = _status_locked(device_id, wait=False)
        if status is None or not status.device.active:
            return False
        device, now = status.device, timezone.now()
        while _apply_pending(status, now) == APPLY_BATCH:
            pass
        if status.offline_at is None:
            return False
        due = _deadline(status)
        if due > now:
            status.offline_at = due
            status.save(update_fields=["offline_at"])
            return False
        status.offline_at = None
        status.save(update_fields=["offline_at"])
        if _open_problem(device, ProblemKind.OFFLINE) is not None:
            return False
        _problem_open(device, ProblemKind.OFFLINE, now, last_heard_at=status.last_received_at)
        return True


def problems_of_inactive_devices() -> QuerySet[DeviceProblem]:
    return DeviceProblem.objects.filter(state=ProblemState.OPEN, device__active=False)


def device_problem_retire(*, problem_id: int) -> bool:
    """A deactivated device's open problem ends (nobody is to look for it any more); it is not
    watched while inactive, and if it is used again it is watched afresh (device_watch_sync)."""
    device_id = DeviceProblem.objects.values_list("device_id", flat=True).get(pk=problem_id)
    with transaction.atomic():
        status = _status_locked(device_id, wait=False)
        if status is None or status.device.active:
            return False
        problem = _problem_locked(problem_id)
        if problem.state != ProblemState.OPEN:
            return False
        _problem_move(problem, "retire")
        return True


# District staff


def device_problem_close(*, problem_id: int, user: User, note: str) -> DeviceProblem:
    """Staff close a maintenance task by hand (the battery was changed), with a note. A battery
    reading received before the close (server time, the problem's `ended_at`) no longer counts;
    a low one received after it opens a new task, whatever the device's clock says of the close
    (readings keep their order among themselves by the device's clock)."""
    device_id = DeviceProblem.objects.values_list("device_id", flat=True).get(pk=problem_id)
    with transaction.atomic():
        _status_locked(device_id)  # the lane's lock: no reading is being applied meanwhile
        problem = _problem_locked(problem_id)
        if problem.state != ProblemState.OPEN:
            raise StateConflict(
                _("This device problem has already ended."),
                current_state=problem.state,
                code="device_problem_ended",
            )
        if problem.kind not in CLOSABLE_BY_HAND:
            raise StateConflict(
                _(
                    "An offline device's problem is not closed by hand: it ends when the "
                    "device is heard again."
                ),
                current_state=problem.state,
                code="device_problem_not_closable",
            )
        _problem_move(problem, "close", actor=user, note=note, data={"note": note})
    return problem


# Problems: the one place they open and move


def _open_problem(device: AlarmDevice, kind: str) -> DeviceProblem | None:
    problem = DeviceProblem.objects.filter(
        device=device, kind=kind, state=ProblemState.OPEN
    ).first()
    if problem is not None:
        problem.device = device
    return problem


def _problem_locked(problem_id: int) -> DeviceProblem:
    rows = DeviceProblem.objects.select_for_update(of=("self",))
    return rows.select_related("device__elder").get(pk=problem_id)


def _problem_open(
    device: AlarmDevice,
    kind: str,
    now: datetime,
    *,
    last_heard_at: datetime | None = None,
    battery: int | None = None,
) -> DeviceProblem:
    """Precondition: the caller holds the device's status lock and found none of `kind` open
    (the partial unique constraint backs it)."""
    problem = DeviceProblem(
        device=device,
        district_id=device.elder.district_id,
        kind=kind,
        state="",
        opened_at=now,
        last_heard_at=last_heard_at,
        battery=battery,
    )
    data: dict[str, Any] = {"battery": battery}
    if kind == ProblemKind.OFFLINE:
        data = {
            "last_heard_at": _iso(last_heard_at),
            "never_heard": last_heard_at is None,
            "heartbeat_interval_s": device.heartbeat_interval_s,
        }
    _problem_move(problem, "open", data=data)
    return problem


def _problem_move(
    problem: DeviceProblem,
    event: str,
    *,
    actor: User | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """The one place a device problem changes state, with its audit row (an event to the
    district's staff, pushed after commit; to nobody else, and never re-sent).

    Precondition: the caller holds the device's status lock (and the problem's, if it exists)."""
    before = problem.state
    after = PROBLEM_MOVES.get((before, event))
    kind = PROBLEM_EVENTS.get((problem.kind, event))
    if after is None or kind is None:
        raise StateConflict(
            _("Cannot %(event)s a device problem that is %(state)s")
            % {"event": event, "state": before or "new"},
            current_state=before,
            code="device_problem_state_conflict",
        )
    problem.state = after
    if event != "open":
        problem.ended_at = timezone.now()
        problem.resolution = _RESOLUTIONS[event]
        problem.ended_by = actor
        problem.note = note
    problem.save()
    device = problem.device
    event_record(
        kind=kind,
        subject_type="device_problem",
        subject_id=problem.pk,
        actor=actor,
        before=before,
        after=after,
        district_id=problem.district_id,
        data={
            "event": event,
            "problem": problem.kind,
            "priority": "low",
            "device_id": device.pk,
            "serial": device.serial,
            "elder_id": device.elder_id,
            **(data or {}),
        },
    )
    log.info("device_problem", move=event, problem=problem.pk, kind=problem.kind)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
