"""The watchdog for the timers: "never lost" needs someone to notice when the sweeps stop.

Each sweep records when it ran (`heartbeat_record`, a row per sweep in PostgreSQL, so it
survives the loss of Redis). `timers_check` reads them: a sweep that has not run for
ANXIN_TIMER_STALE_S fails /healthz, and the first check that finds it stale raises the alarm
once for the episode (an ERROR log line and a `watchdog.stale` event to the staff of every
district); the first that finds it running again ends it (`watchdog.recovered`). Many
processes check at once (every /healthz probe, a thread in every Celery worker process): the
row's lock and its `stale_since` make each episode alerted once.

It does not depend on beat, whose death is the case it is for: the workers' threads check on
their own clock (`watchdog_start`), and so does every readiness probe.
"""

import os
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from backend.accounts.models import District

from .events import event_record
from .models import Heartbeat

log = structlog.get_logger(__name__)


def heartbeat_record(*, name: str) -> None:
    """`name` ran now. One UPDATE on the common path; the first run makes the row."""
    now = timezone.now()
    if not Heartbeat.objects.filter(name=name).update(last_ran_at=now):
        Heartbeat.objects.bulk_create(
            [Heartbeat(name=name, last_ran_at=now, watched_since=now)],
            update_conflicts=True,
            unique_fields=["name"],
            update_fields=["last_ran_at"],
        )


def timers_check(*, now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Each watched timer's state ("up": it ran within ANXIN_TIMER_STALE_S), and the alarm
    raised or ended where an episode begins or ends. A timer that never ran is down, but
    alerted only once it has been watched for ANXIN_TIMER_STALE_S (a fresh install's beat has
    not had its first turn yet)."""
    now = now or timezone.now()
    watched = settings.ANXIN_WATCHED_TIMERS
    everyone = {h.name: h for h in Heartbeat.objects.all()}  # a row per sweep: a handful
    _forget_abandoned(everyone, watched, now)
    rows = {name: everyone[name] for name in watched if name in everyone}
    if len(rows) < len(watched):
        Heartbeat.objects.bulk_create(
            [Heartbeat(name=name, watched_since=now) for name in watched if name not in rows],
            ignore_conflicts=True,
        )
        rows = {h.name: h for h in Heartbeat.objects.filter(name__in=watched)}
    states = {}
    for name in watched:
        beat = rows[name]
        if _stale(beat, now) != (beat.stale_since is not None):
            beat = _episode_move(beat.pk, now) or beat
        states[name] = _state(beat, now)
    return states


def _forget_abandoned(rows: dict[str, Heartbeat], watched: list[str], now: datetime) -> None:
    """Delete the rows of a split sweep's timers that no longer exist: the shards of another
    split (ANXIN_ALARM_SWEEP_SHARDS changed, backend/core/shards.py), or the unsplit sweep's,
    once none of them has run for ANXIN_TIMER_STALE_S. Kept, such a row would be watched again
    the day the split returns to that size, stale since the last time, and every district
    alerted for a sweep that is running. Rows still being written (processes of the old split
    during a change-over) are left to them."""
    bases = {name.partition(":")[0] for name in watched}
    abandoned = [
        beat.pk
        for name, beat in rows.items()
        if name not in watched and name.partition(":")[0] in bases and _stale(beat, now)
    ]
    if abandoned:
        Heartbeat.objects.filter(pk__in=abandoned).delete()
        for name in [name for name, beat in rows.items() if beat.pk in abandoned]:
            del rows[name]


def _stale_after() -> timedelta:
    return timedelta(seconds=settings.ANXIN_TIMER_STALE_S)


def _stale(beat: Heartbeat, now: datetime) -> bool:
    return (beat.last_ran_at or beat.watched_since) < now - _stale_after()


def _state(beat: Heartbeat, now: datetime) -> dict[str, Any]:
    ran = beat.last_ran_at
    fresh = ran is not None and ran >= now - _stale_after()
    return {
        "status": "up" if fresh else "down",
        "last_ran_at": ran.isoformat() if ran else None,
        "age_s": round((now - ran).total_seconds(), 1) if ran else None,
        "stale_since": beat.stale_since.isoformat() if beat.stale_since else None,
    }


def _episode_move(pk: int, now: datetime) -> Heartbeat | None:
    """Begin or end the stale episode of one timer, under its row's lock, after checking again.
    None if another process holds the lock: it is doing the same."""
    with transaction.atomic():
        beat = Heartbeat.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
        if beat is None:
            return None
        stale = _stale(beat, now)
        if stale and beat.stale_since is None:
            beat.stale_since = now
            kind, before, after = "watchdog.stale", "fresh", "stale"
            log.error(
                "timer_stale",
                timer=beat.name,
                last_ran_at=beat.last_ran_at.isoformat() if beat.last_ran_at else None,
                stale_after_s=settings.ANXIN_TIMER_STALE_S,
            )
        elif not stale and beat.stale_since is not None:
            log.warning(
                "timer_recovered",
                timer=beat.name,
                stale_for_s=round((now - beat.stale_since).total_seconds()),
            )
            beat.stale_since = None
            kind, before, after = "watchdog.recovered", "stale", "fresh"
        else:
            return beat
        beat.save(update_fields=["stale_since"])
        data = {
            "timer": beat.name,
            "last_ran_at": beat.last_ran_at.isoformat() if beat.last_ran_at else None,
            "stale_after_s": settings.ANXIN_TIMER_STALE_S,
        }
        for district_id in District.objects.order_by("pk").values_list("pk", flat=True):
            event_record(
                kind=kind,
                subject_type="timer",
                subject_id=beat.pk,
                before=before,
                after=after,
                district_id=district_id,
                data=data,
            )
        return beat


# Inside each Celery worker process ------------------------------------------------------------

_running_in: int | None = None  # the process whose watchdog thread runs


def watchdog_start() -> bool:
    """Start this process's watchdog thread (once per process): `timers_check` every
    ANXIN_WATCHDOG_INTERVAL_S. Started where tasks run, never in a process that will fork
    (a prefork pool's parent): its children would inherit a database connection."""
    global _running_in
    if _running_in == os.getpid():
        return False
    _running_in = os.getpid()
    interval = settings.ANXIN_WATCHDOG_INTERVAL_S
    threading.Thread(target=_watch, args=(interval,), name="anxin-watchdog", daemon=True).start()
    log.info("watchdog_started", interval_s=interval)
    return True


def _watch(interval: float) -> None:
    while True:
        time.sleep(interval)
        try:
            close_old_connections()
            timers_check()
        except Exception:  # the next turn tries again; a check must never end the thread
            log.exception("watchdog_check_failed")
        finally:
            connection.close()  # this thread's own: back to the pool between turns


def timers_stale_now() -> list[str]:
    """The watched timers in a stale episode now (as the last check recorded it): read only, for
    a page that shows the platform's state as it renders."""
    return sorted(
        Heartbeat.objects.filter(
            name__in=settings.ANXIN_WATCHED_TIMERS, stale_since__isnull=False
        ).values_list("name", flat=True)
    )
