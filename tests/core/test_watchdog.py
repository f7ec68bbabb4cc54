"""The watchdog for the timers: a sweep that stops (beat died) fails readiness and alerts the
staff of every district once per episode, however many probes and workers look; a sweep that
runs again ends the episode. Liveness (/healthz/live) looks at the process alone."""

import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client
from django.utils import timezone

from backend.core import health
from backend.core.events import events_visible_to
from backend.core.models import Event, Heartbeat
from backend.core.watchdog import heartbeat_record, timers_check
from backend.telephony.tasks import notifications_sweep
from dispatch.tasks import ROUTINE_SWEEP, URGENT_SWEEP, sweep_urgent
from tests import factories as f
from tests.stack import Stack

TOKEN = "monitor-token-0123456789-abcdefghijklmnop"
ALARMS, URGENT, ROUTINE, NOTIFY = settings.ANXIN_WATCHED_TIMERS


@pytest.fixture
def monitor(settings, monkeypatch):
    """A monitor with the health token; every queue has a worker, so timers decide."""
    settings.ANXIN_HEALTH_TOKEN = TOKEN
    everything = set(settings.ANXIN_QUEUES.values())
    monkeypatch.setattr(health, "queue_consumers", lambda w, timeout: {"w@test": everything})
    return Client(headers={"X-Health-Token": TOKEN})


@pytest.fixture
def districts(db):
    return [f.DistrictFactory(code="220104000000"), f.DistrictFactory(code="220105000000")]


def ran(name, seconds_ago):
    at = timezone.now() - timedelta(seconds=seconds_ago)
    Heartbeat.objects.update_or_create(name=name, defaults={"last_ran_at": at, "watched_since": at})


def alerts(kind):
    return list(Event.objects.filter(kind=kind).order_by("district_id"))


def errors_logged(caplog, event):
    return [r for r in caplog.records if r.levelname == "ERROR" and event in r.getMessage()]


def test_every_watched_timer_is_a_sweep_that_records_its_runs():
    assert [
        "alarms.tasks.alarms_sweep",
        URGENT_SWEEP.timer,
        ROUTINE_SWEEP.timer,
        "backend.telephony.tasks.notifications_sweep",
    ] == settings.ANXIN_WATCHED_TIMERS


@pytest.mark.django_db
def test_the_notifications_sweep_records_its_runs():
    notifications_sweep()

    assert Heartbeat.objects.filter(name=NOTIFY, last_ran_at__isnull=False).exists()


def test_a_stale_sweep_fails_readiness_and_alerts_once_for_many_probes(districts, monitor, caplog):
    # Given the urgent sweep last ran two minutes ago (beat died), the routine one just now
    ran(URGENT, 120)
    ran(ROUTINE, 1)
    ran(NOTIFY, 1)
    ran(ALARMS, 1)

    # When a monitor probes five times
    probes = [monitor.get("/healthz") for _ in range(5)]

    # Then each probe fails, naming the sweep and when it last ran
    assert {p.status_code for p in probes} == {503}
    timers = probes[-1].json()["checks"]["timers"]
    assert timers["status"] == "down"
    assert timers["error"] == f"not run within 60 s: {URGENT}"
    assert timers["timers"][URGENT]["status"] == "down"
    assert timers["timers"][URGENT]["age_s"] >= 120
    assert timers["timers"][ROUTINE]["status"] == "up"
    # And the staff of each district got one alert, and the log one ERROR line
    stale = alerts("watchdog.stale")
    assert [e.district_id for e in stale] == [d.pk for d in districts]
    assert {e.data["timer"] for e in stale} == {URGENT}
    assert len(errors_logged(caplog, "timer_stale")) == 1
    staff = f.UserFactory(role="supervisor", district=districts[1])
    assert [e.kind for e in events_visible_to(staff)] == ["watchdog.stale"]


def test_a_sweep_that_runs_again_gives_200_and_ends_the_episode_once(districts, monitor):
    ran(URGENT, 120)
    ran(ROUTINE, 1)
    ran(NOTIFY, 1)
    ran(ALARMS, 1)
    monitor.get("/healthz")  # the alarm is raised

    sweep_urgent()  # beat is back: the sweep runs and records it
    probes = [monitor.get("/healthz") for _ in range(3)]

    assert [p.status_code for p in probes] == [200, 200, 200]
    assert probes[-1].json()["checks"]["timers"]["timers"][URGENT]["age_s"] < 5
    recovered = alerts("watchdog.recovered")
    assert [e.district_id for e in recovered] == [d.pk for d in districts]
    assert len(alerts("watchdog.stale")) == 2
    assert Heartbeat.objects.get(name=URGENT).stale_since is None


def test_a_sweep_that_never_ran_is_not_ready_and_alerted_once_it_is_late(districts, monitor):
    # Given a fresh install: beat has not had its first turn
    first = monitor.get("/healthz")

    assert first.status_code == 503
    assert first.json()["checks"]["timers"]["timers"][URGENT]["last_ran_at"] is None
    assert alerts("watchdog.stale") == []

    # When still nothing has run a minute on
    Heartbeat.objects.update(watched_since=timezone.now() - timedelta(seconds=61))
    monitor.get("/healthz")

    # Then both sweeps are alerted
    assert {e.data["timer"] for e in alerts("watchdog.stale")} == {ALARMS, URGENT, ROUTINE, NOTIFY}


def test_a_heartbeat_is_one_row_per_sweep_updated_each_run(db):
    heartbeat_record(name=URGENT)
    first = Heartbeat.objects.get(name=URGENT).last_ran_at
    heartbeat_record(name=URGENT)

    assert Heartbeat.objects.filter(name=URGENT).count() == 1
    assert Heartbeat.objects.get(name=URGENT).last_ran_at > first


@pytest.mark.django_db(transaction=True)
def test_checks_in_many_processes_at_once_alert_each_episode_once():
    """Eight sessions (as eight worker processes and probes would) find the sweep stale at the
    same moment."""
    districts = [f.DistrictFactory(code="220104000000"), f.DistrictFactory(code="220105000000")]
    ran(URGENT, 120)
    ran(ROUTINE, 1)
    ran(NOTIFY, 1)
    ran(ALARMS, 1)
    start = threading.Barrier(8)
    failed = []

    def check():
        try:
            start.wait()
            timers_check()
        except Exception as exc:
            failed.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not failed
    assert [e.district_id for e in alerts("watchdog.stale")] == [d.pk for d in districts]


def test_liveness_answers_from_the_process_with_the_database_and_redis_gone(settings, monkeypatch):
    def unreachable(self):
        raise OperationalError("connection refused: the database is down")

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", unreachable)
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    }
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(health, "queue_consumers", lambda w, timeout: {})

    live = Client().get("/healthz/live")
    ready = Client().get("/healthz")

    assert (live.status_code, live.json()) == (200, {"status": "up"})
    assert ready.status_code == 503


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_the_workers_raise_and_end_the_alarm_without_beat_or_a_probe(
    transactional_db, tmp_path, monkeypatch
):
    """Beat is not running and nobody probes /healthz: the workers' own timers notice. Two
    worker processes (one of threads, one prefork child) check; each episode is alerted once."""
    districts = [f.DistrictFactory(code="220104000000"), f.DistrictFactory(code="220105000000")]
    ran(URGENT, 120)
    ran(ROUTINE, 1)
    ran(NOTIFY, 1)
    ran(ALARMS, 1)
    monkeypatch.setenv("ANXIN_WATCHDOG_INTERVAL_S", "0.3")
    stack = Stack(tmp_path)
    try:
        stack.start_worker("urgent", "routine", "notify", concurrency=1)
        stack.start_worker("bulk", pool="prefork", concurrency=1)

        eventually(lambda: len(alerts("watchdog.stale")) == 2, stack)
        eventually(lambda: stack.log("celery-bulk").count("watchdog_started") == 1, stack)
        heartbeat_record(name=URGENT)
        eventually(lambda: len(alerts("watchdog.recovered")) == 2, stack)

        time.sleep(1)  # both workers have checked again several times since
        assert [e.district_id for e in alerts("watchdog.stale")] == [d.pk for d in districts]
        assert len(alerts("watchdog.recovered")) == 2
        assert "timer_stale" in stack.log("celery-urgent-routine-notify") + stack.log("celery-bulk")
    finally:
        stack.stop()


def eventually(check, stack, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s\n{stack.tail_logs()}")
