"""Sweeps split by district for a province (backend/core/shards.py, docs/capacity.md): beat sends
each shard its own entry, each shard acts on its own districts only, under its own lock and its
own watchdog timer, so that a shard held up holds up no other; unsplit, one sweep as before."""

import json
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from alarms.devices import devices_watch
from alarms.models import Alarm
from alarms.tasks import SWEEP_LOCK, TIMER, alarms_sweep, device_messages_apply_pending
from backend.core.models import Event, Heartbeat
from backend.core.shards import shard_lock, shard_name
from backend.core.sweeps import in_district_shard
from backend.core.watchdog import timers_check
from elders.models import AlarmDevice
from tests import factories as f
from tests.alarms.conftest import message, send
from tests.conftest import api
from tests.test_production_settings import PRODUCTION_ENV, python

pytestmark = pytest.mark.django_db

SHOW = (
    "import json; from backend.settings import production as s; "
    "print(json.dumps({'beat': {k: [v['task'], v['kwargs'], v['options']['queue']] "
    "for k, v in s.CELERY_BEAT_SCHEDULE.items()}, 'watched': s.ANXIN_WATCHED_TIMERS}))"
)


def _settings(**env: str) -> dict:
    result = python(SHOW, env={**PRODUCTION_ENV, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_split_three_ways_beat_sends_three_alarm_sweeps_each_watched():
    unsplit, split = _settings(), _settings(ANXIN_ALARM_SWEEP_SHARDS="3")

    assert unsplit["beat"]["alarms"] == ["alarms.tasks.alarms_sweep", {}, "anxin-prod-alarm"]
    assert [name for name in split["beat"] if name.startswith("alarms")] == [
        "alarms:0/3",
        "alarms:1/3",
        "alarms:2/3",
    ]
    assert split["beat"]["alarms:1/3"] == [
        "alarms.tasks.alarms_sweep",
        {"shard": 1, "shards": 3},
        "anxin-prod-alarm",
    ]
    # Each shard's timer is watched in place of the one sweep's; the others stay as they were.
    assert TIMER in unsplit["watched"] and TIMER not in split["watched"]
    assert [t for t in split["watched"] if t.startswith(TIMER)] == [
        f"{TIMER}:0/3",
        f"{TIMER}:1/3",
        f"{TIMER}:2/3",
    ]
    assert [t for t in split["watched"] if not t.startswith(TIMER)] == [
        t for t in unsplit["watched"] if t != TIMER
    ]


def test_the_device_lane_splits_its_applying_of_heartbeats_unwatched():
    split = _settings(ANXIN_DEVICE_APPLY_SHARDS="2")

    assert split["beat"]["device-messages:0/2"][1:] == [
        {"shard": 0, "shards": 2},
        "anxin-prod-device",
    ]
    assert "device-messages" not in split["beat"]
    assert not any("device_messages" in t for t in split["watched"])


def test_a_sweep_split_no_ways_is_refused_at_start():
    result = python(SHOW, env={**PRODUCTION_ENV, "ANXIN_ALARM_SWEEP_SHARDS": "0"})

    assert result.returncode != 0
    assert "a sweep is split 1 to 255 ways, not 0" in result.stderr


def _device(district, serial: str) -> tuple[str, str]:
    """A button on a new elder of the district, registered as operators do: (serial, secret)."""
    elder = f.ElderFactory(district=district)
    operator = f.UserFactory(role="operator", district=district)
    answer = api(operator).post(
        f"/api/v1/elders/{elder.pk}/devices/",
        {"serial": serial, "kind": "button", "heartbeat_interval_s": 600},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    return answer.json()["serial"], answer.json()["secret"]


def _overdue_alarm(client, district, serial: str) -> Alarm:
    sent = send(client, _device(district, serial), message("sos"))
    assert sent.status_code == 202, sent.content
    alarm = Alarm.objects.get(pk=sent.json()["alarm_id"])
    back = timedelta(seconds=120)  # nobody acknowledged it: every deadline has passed
    Alarm.objects.filter(pk=alarm.pk).update(
        dispatch_due_at=alarm.dispatch_due_at - back, resend_at=alarm.resend_at - back
    )
    return alarm


def test_each_shard_dispatches_the_alarms_of_its_own_districts_only(client):
    first, second = f.DistrictFactory(), f.DistrictFactory()
    shard_of = {d.pk: d.pk % 2 for d in (first, second)}
    if shard_of[first.pk] == shard_of[second.pk]:  # consecutive ids: never, but say so
        pytest.skip("both districts fell in one shard")
    mine = _overdue_alarm(client, first, "BTN-S-1")
    theirs = _overdue_alarm(client, second, "BTN-S-2")

    done = alarms_sweep(shard=shard_of[first.pk], shards=2)

    assert done["alarms_dispatched"] == 1 and done["alarms_resent"] == 1
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.request_id is not None and theirs.request_id is None
    assert Heartbeat.objects.filter(name=shard_name(TIMER, shard_of[first.pk], 2)).exists()
    assert not Heartbeat.objects.filter(name=TIMER).exists()

    assert alarms_sweep(shard=shard_of[second.pk], shards=2)["alarms_dispatched"] == 1
    theirs.refresh_from_db()
    assert theirs.request_id is not None


def test_a_shard_held_up_holds_up_neither_the_other_nor_is_run_twice(client):
    district = f.DistrictFactory()
    alarm = _overdue_alarm(client, district, "BTN-S-3")
    shard = district.pk % 2
    other = 1 - shard
    params = {
        k: v
        for k, v in connection.get_connection_params().items()
        if k in ("dbname", "user", "password", "host", "port")
    }
    with psycopg.connect(**params, autocommit=True) as holder:
        # Another run of this shard's sweep is going on (its lock held elsewhere).
        holder.execute("SELECT pg_advisory_lock(%s)", [shard_lock(SWEEP_LOCK, shard, 2)])

        assert alarms_sweep(shard=shard, shards=2) == {"skipped": "another sweep is running"}
        assert alarms_sweep(shard=other, shards=2)["alarms_dispatched"] == 0  # not its district
        # The unsplit sweep's lock is another key: a platform changing over acts once anyway.
        assert shard_lock(SWEEP_LOCK, shard, 2) != SWEEP_LOCK
        holder.execute("SELECT pg_advisory_unlock_all()")
    alarm.refresh_from_db()
    assert alarm.request_id is None
    assert alarms_sweep(shard=shard, shards=2)["alarms_dispatched"] == 1


def test_the_shards_of_the_devices_applying_take_each_device_once(client):
    district = f.DistrictFactory()
    buttons = [_device(district, f"BTN-H-{n}") for n in range(4)]
    devices_watch(limit=100)
    for button in buttons:
        assert send(client, button, message("heartbeat")).status_code == 202
    ids = list(AlarmDevice.objects.filter(serial__startswith="BTN-H-").values_list("pk", flat=True))

    applied = [
        device_messages_apply_pending(shard=0, shards=2)["devices_applied"],
        device_messages_apply_pending(shard=1, shards=2)["devices_applied"],
    ]

    assert applied == [sum(1 for pk in ids if pk % 2 == 0), sum(1 for pk in ids if pk % 2 == 1)]
    assert sum(applied) == 4
    assert device_messages_apply_pending()["devices_applied"] == 0


def test_a_shard_names_its_districts_so_the_deadline_index_still_orders_the_walk():
    first, second, third = f.DistrictFactory(), f.DistrictFactory(), f.DistrictFactory()
    due = Alarm.objects.filter(state="open")

    sql = str(in_district_shard(due, first.pk % 2, 2).query)

    mine = sorted(d.pk for d in (first, second, third) if d.pk % 2 == first.pk % 2)
    assert f'"alarms_alarm"."district_id" IN ({", ".join(map(str, mine))})' in sql
    assert "MOD" not in sql.upper()
    assert in_district_shard(due, 0, 1) is due  # unsplit: untouched


def test_timers_of_a_split_no_longer_in_use_are_forgotten_once_stale(settings):
    """Changing ANXIN_ALARM_SWEEP_SHARDS leaves the old shards' rows: stale, they would be
    watched again the day the split returns to that size, and alert every district."""
    old = timezone.now() - timedelta(days=30)
    Heartbeat.objects.create(name=f"{TIMER}:0/2", last_ran_at=old, watched_since=old)
    Heartbeat.objects.create(name=f"{TIMER}:1/2", last_ran_at=timezone.now())  # still written
    Heartbeat.objects.create(name="hotline.tasks.calls_sweep", last_ran_at=old)  # not a shard

    timers_check()  # unsplit now: the one alarm sweep watched

    assert not Heartbeat.objects.filter(name=f"{TIMER}:0/2").exists()
    assert Heartbeat.objects.filter(name=f"{TIMER}:1/2").exists()
    assert Heartbeat.objects.filter(name="hotline.tasks.calls_sweep").exists()

    # Split two ways again: the shard's timer is watched from now, not stale since last month.
    settings.ANXIN_WATCHED_TIMERS = [
        *(t for t in settings.ANXIN_WATCHED_TIMERS if t != TIMER),
        f"{TIMER}:0/2",
        f"{TIMER}:1/2",
    ]
    states = timers_check()

    assert states[f"{TIMER}:1/2"]["status"] == "up"
    assert not Event.objects.filter(kind="watchdog.stale").exists()
