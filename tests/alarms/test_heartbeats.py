"""Heartbeats and battery reports on the device lane (docs/alarms.md, "Heartbeats"): a missed
heartbeat raises a low-priority `device_offline` once and the next message clears it; a low
battery opens one maintenance task, which clears when the battery recovers or is closed by
hand; the device sweep catches up what a lost enqueue left; the purge keeps alarm messages."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from alarms.devices import device_offline_raise
from alarms.models import Alarm, DeviceMessage, DeviceProblem, DeviceStatus
from alarms.tasks import device_messages_apply_pending, device_messages_purge, devices_sweep
from backend.core.models import Event
from dispatch.models import OperatorAlert
from elders.models import AlarmDevice
from tests import factories as f
from tests.alarms.conftest import message, send
from tests.conftest import api

pytestmark = pytest.mark.django_db

GRACE_S = 2 * 600 + 120  # the device fixture beats every 600 s: two missed beats plus slack


@pytest.fixture
def heard(device, client, django_capture_on_commit_callbacks):
    """`heard(kind, **fields)`: the device sends a message, and the device lane's next run
    applies it (`applied=False` skips that run: the lane is behind)."""

    def say(kind: str = "heartbeat", *, applied: bool = True, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            answer = send(client, device, message(kind, **fields))
        assert answer.status_code == 202, answer.content
        if applied:
            device_messages_apply_pending()
        return answer

    return say


def silent_for(seconds: float) -> None:
    """As if `seconds` had passed since the device was last heard (or first watched)."""
    gone = timedelta(seconds=seconds)
    DeviceStatus.objects.update(
        watched_since=F("watched_since") - gone,
        last_received_at=F("last_received_at") - gone,
        offline_at=F("offline_at") - gone,
    )


def problems(kind: str) -> list[DeviceProblem]:
    return list(DeviceProblem.objects.filter(kind=kind).order_by("pk"))


def events(kind: str) -> list[Event]:
    return list(Event.objects.filter(kind=kind).order_by("pk"))


def test_a_missed_heartbeat_raises_device_offline_once_and_a_message_clears_it(heard, elder):
    # Given a device heard, then silent a little less than two beats and the slack
    heard()
    silent_for(GRACE_S - 10)
    devices_sweep()
    assert problems("device_offline") == []

    # When the silence passes the grace and the sweep runs twice
    silent_for(20)
    devices_sweep()
    devices_sweep()

    # Then one device_offline problem and one device.offline event, to the district only
    [offline] = problems("device_offline")
    assert offline.state == "open" and offline.district_id == elder.district_id
    [told] = events("device.offline")
    assert told.district_id == elder.district_id and told.recipients == []
    assert told.data["priority"] == "low" and told.data["never_heard"] is False
    assert told.subject_type == "device_problem" and told.subject_id == offline.pk
    assert not OperatorAlert.objects.exists()  # low priority: no alert, nothing re-sent

    # When the device is heard again
    heard()
    devices_sweep()

    # Then the problem ends by itself, told once, and nothing new opens
    offline.refresh_from_db()
    assert (offline.state, offline.resolution, offline.ended_by) == ("ended", "back", None)
    assert len(events("device.online")) == 1
    assert len(problems("device_offline")) == 1

    # And a second silence is a second episode
    silent_for(GRACE_S + 10)
    devices_sweep()
    assert [p.state for p in problems("device_offline")] == ["ended", "open"]


def test_a_device_never_heard_from_is_offline_once_the_grace_has_passed_since_it_was_watched(
    device,
):
    devices_sweep()  # the sweep begins watching the new device
    assert DeviceStatus.objects.get().last_received_at is None

    silent_for(GRACE_S + 10)
    devices_sweep()

    [offline] = problems("device_offline")
    assert offline.last_heard_at is None
    assert events("device.offline")[0].data["never_heard"] is True


def test_the_deadline_follows_a_longer_interval_set_meanwhile(heard, device):
    heard()
    silent_for(GRACE_S + 10)
    AlarmDevice.objects.update(heartbeat_interval_s=3600)

    devices_sweep()

    assert problems("device_offline") == []
    status = DeviceStatus.objects.get()
    assert status.offline_at == status.last_received_at + timedelta(seconds=2 * 3600 + 120)


def test_a_low_battery_opens_one_maintenance_task_and_recovery_clears_it(heard, elder):
    # Given readings under the threshold (a level, then the device's own low_battery message)
    heard(battery=15)
    heard("low_battery")
    heard(battery=25)  # between low (20) and ok (30): no change either way

    # Then one maintenance task, told once
    [task] = problems("low_battery")
    assert task.state == "open" and task.battery == 15
    [told] = events("device.low_battery")
    assert told.data["battery"] == 15 and told.district_id == elder.district_id

    # When the battery is back above the hysteresis
    heard(battery=80)

    # Then the task ends by itself, and the next low reading is a new task
    task.refresh_from_db()
    assert (task.state, task.resolution) == ("ended", "back")
    assert events("device.battery_ok")[0].data["battery"] == 80
    heard(battery=5)
    assert [t.state for t in problems("low_battery")] == ["ended", "open"]


def test_an_older_reading_does_not_outweigh_a_newer_one(heard):
    heard(battery=90)
    heard("low_battery", ago_s=120)  # sent late: before the 90 % by the device's clock

    assert problems("low_battery") == []


def test_one_open_problem_per_device_and_kind_is_a_database_rule(heard, device):
    heard(battery=10)
    task = DeviceProblem.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        DeviceProblem.objects.create(
            device_id=task.device_id,
            district_id=task.district_id,
            kind="low_battery",
            state="open",
            opened_at=timezone.now(),
        )


def test_staff_close_a_maintenance_task_by_hand_with_a_note(heard, operator):
    heard(battery=10, ago_s=5)
    task = DeviceProblem.objects.get()

    answer = api(operator).post(
        f"/api/v1/device-problems/{task.pk}/close/", {"note": "battery changed"}, format="json"
    )

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["state"], body["resolution"], body["ended_by"]) == (
        "ended",
        "closed",
        operator.username,
    )
    [closed] = events("device.maintenance_closed")
    assert closed.actor == operator and closed.data["note"] == "battery changed"
    again = api(operator).post(
        f"/api/v1/device-problems/{task.pk}/close/", {"note": "again"}, format="json"
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "device_problem_ended"
    # A low reading from before the close does not reopen it; one after it does
    heard("low_battery", ago_s=60)
    assert len(problems("low_battery")) == 1
    heard(battery=12)
    assert [t.state for t in problems("low_battery")] == ["ended", "open"]


def test_a_low_reading_after_the_close_counts_on_a_device_whose_clock_runs_behind(heard, operator):
    # Given a device whose clock is ten minutes behind, with a task opened and a low reading
    # received before the close that the lane had not applied yet
    heard(battery=10, ago_s=600)
    task = DeviceProblem.objects.get()
    heard(battery=11, ago_s=590, applied=False)
    closed = api(operator).post(
        f"/api/v1/device-problems/{task.pk}/close/", {"note": "battery changed"}, format="json"
    )
    assert closed.status_code == 200, closed.content

    # When the lane applies the reading received before the close
    device_messages_apply_pending()
    # Then it does not reopen the task
    assert len(problems("low_battery")) == 1

    # When a low reading is received after the close, stamped before it by the device's clock
    heard(battery=12, ago_s=300)

    # Then it opens a new task (the battery was not changed after all)
    assert [t.state for t in problems("low_battery")] == ["ended", "open"]
    assert problems("low_battery")[-1].battery == 12


def test_closing_needs_a_note_and_an_offline_device_is_not_closed_by_hand(heard, operator):
    heard(battery=10)
    silent_for(GRACE_S + 10)
    devices_sweep()
    task, offline = problems("low_battery")[0], problems("device_offline")[0]

    no_note = api(operator).post(f"/api/v1/device-problems/{task.pk}/close/", {}, format="json")
    by_hand = api(operator).post(
        f"/api/v1/device-problems/{offline.pk}/close/", {"note": "seen"}, format="json"
    )

    assert no_note.status_code == 400 and "note" in no_note.json()["error"]["fields"]
    assert by_hand.status_code == 409
    assert by_hand.json()["error"]["code"] == "device_problem_not_closable"
    offline.refresh_from_db()
    assert offline.state == "open"


def test_staff_list_their_districts_problems_open_first_with_filters(
    heard, operator, elder, family, django_assert_max_num_queries
):
    heard(battery=10)
    heard(battery=90)  # that task ended
    heard(battery=11)
    silent_for(GRACE_S + 10)
    devices_sweep()
    stranger = f.UserFactory(role="operator", district=f.DistrictFactory())

    with django_assert_max_num_queries(4):  # the user's session aside: count, page
        rows = api(operator).get("/api/v1/device-problems/").json()["results"]
    open_offline = api(operator).get("/api/v1/device-problems/?open=true&kind=device_offline")
    of_elder = api(operator).get(f"/api/v1/device-problems/?elder={elder.pk}&open=false")

    assert [(r["kind"], r["state"]) for r in rows] == [
        ("low_battery", "open"),
        ("device_offline", "open"),
        ("low_battery", "ended"),
    ]
    assert rows[1]["elder_name"] == elder.full_name and rows[1]["serial"] == "BTN-0001"
    assert rows[1]["last_heard_at"] is not None and rows[1]["open_s"] >= 0
    assert [r["kind"] for r in open_offline.json()["results"]] == ["device_offline"]
    assert [r["resolution"] for r in of_elder.json()["results"]] == ["back"]
    fire = api(operator).get("/api/v1/device-problems/?kind=fire")
    assert fire.status_code == 400 and "kind" in fire.json()["error"]["fields"]
    assert api(stranger).get("/api/v1/device-problems/").json()["results"] == []
    task = rows[0]["id"]
    closed = api(stranger).post(f"/api/v1/device-problems/{task}/close/", {"note": "x"})
    assert closed.status_code == 404
    assert api(family).get("/api/v1/device-problems/").status_code == 403


def test_a_deactivated_devices_open_problems_end(heard):
    heard(battery=10)
    silent_for(GRACE_S + 10)
    devices_sweep()
    AlarmDevice.objects.update(active=False)

    devices_sweep()

    assert {(p.kind, p.state, p.resolution) for p in DeviceProblem.objects.all()} == {
        ("low_battery", "ended", "retired"),
        ("device_offline", "ended", "retired"),
    }
    assert len(events("device.problem_retired")) == 2


@pytest.mark.parametrize("offline_first", [False, True], ids=["quiet", "offline_first"])
def test_a_reactivated_device_gets_its_full_grace(heard, offline_first):
    # Given a device heard, (offline and) deactivated, put away for a month
    heard()
    if offline_first:
        silent_for(GRACE_S + 10)
        devices_sweep()
    AlarmDevice.objects.update(active=False)
    devices_sweep()
    silent_for(30 * 86400)
    before = len(problems("device_offline"))

    # When it is installed again, and the sweep runs
    AlarmDevice.objects.update(active=True)
    devices_sweep()
    devices_sweep()

    # Then it is not offline at once: watched afresh, with the whole grace from now
    assert len(problems("device_offline")) == before
    status = DeviceStatus.objects.get()
    assert status.watched_since > timezone.now() - timedelta(seconds=5)
    silent_for(GRACE_S - 10)
    devices_sweep()
    assert len(problems("device_offline")) == before
    # And once the grace has passed in silence it is offline, last heard a month ago
    silent_for(20)
    devices_sweep()
    offline = problems("device_offline")[-1]
    assert offline.state == "open" and len(problems("device_offline")) == before + 1
    assert offline.last_heard_at < timezone.now() - timedelta(days=30)


def test_a_deactivated_device_is_not_watched_and_one_heard_before_the_lane_is_offline_at_once(
    heard,
):
    # Given a device heard two days ago, from before the lane (no status yet)
    heard()
    DeviceStatus.objects.all().delete()
    DeviceMessage.objects.update(received_at=F("received_at") - timedelta(days=2))

    # When the sweep first watches it: silence counts from its latest message
    devices_sweep()
    assert problems("device_offline")[0].last_heard_at is not None

    # And a device inactive when first watched has no deadline until it is reactivated
    DeviceStatus.objects.all().delete()
    AlarmDevice.objects.update(active=False)
    devices_sweep()
    assert DeviceStatus.objects.get().offline_at is None


# The device lane: nothing of it in the alarm's way, and nothing of it on the request's way


def test_a_message_the_lane_has_not_applied_yet_is_applied_by_the_sweep(heard, device, client):
    # Given a device offline, whose next heartbeat the lane has not applied yet
    heard()
    silent_for(GRACE_S + 10)
    devices_sweep()
    answer = heard(battery=10, applied=False)

    # Then the device still got its 202, with the row kept and not applied
    assert answer.json()["result"] == "recorded"
    assert DeviceMessage.objects.filter(applied=False).count() == 1
    assert DeviceProblem.objects.get().state == "open"

    # When the device sweep runs
    devices_sweep()

    # Then the message is applied: the device is back and its battery task open
    assert not DeviceMessage.objects.filter(applied=False).exists()
    assert {(p.kind, p.state) for p in DeviceProblem.objects.all()} == {
        ("device_offline", "ended"),
        ("low_battery", "open"),
    }


def test_a_message_not_yet_applied_is_not_mistaken_for_silence(heard):
    heard()
    silent_for(GRACE_S + 10)
    heard(applied=False)  # received now, the lane behind: the status says silent

    # When the offline step comes to the device (as if the message came after the catch-up)
    raised = device_offline_raise(device_id=AlarmDevice.objects.get().pk)

    assert raised is False
    assert problems("device_offline") == []
    assert not DeviceMessage.objects.filter(applied=False).exists()


def test_an_alarm_message_is_applied_by_the_sweep_and_clears_offline(heard, device, client):
    heard()
    silent_for(GRACE_S + 10)
    devices_sweep()

    send(client, device, message("sos"))  # the alarm path: nothing enqueued for the lane
    devices_sweep()

    assert Alarm.objects.get().state == "open"
    assert DeviceProblem.objects.get().state == "ended"


@pytest.fixture
def broker(settings):
    """Tasks published to this run's Redis broker instead of run inline; `sent()` reads it."""
    import json

    import redis

    from backend.celery import app

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.control.purge()

    def sent() -> dict[str, list[str]]:
        return {
            lane: [
                json.loads(raw)["headers"]["task"].rsplit(".", 1)[1]
                for raw in client.lrange(queue, 0, -1)
            ]
            for lane, queue in settings.ANXIN_QUEUES.items()
        }

    yield sent
    app.control.purge()


def test_a_heartbeat_storm_sends_nothing_to_redis_and_is_applied_on_the_device_lane(
    device, client, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(30):
            send(client, device, message("heartbeat", battery=50 + n))
        sos = send(client, device, message("sos"))
        send(client, device, message("low_battery"))

    # Nothing was published for them (a Redis that hangs costs them nothing)
    assert all(queued == [] for queued in broker().values())
    # The alarm was taken in the request, behind none of them
    assert Alarm.objects.get(pk=sos.json()["alarm_id"]).state == "open"
    assert DeviceMessage.objects.filter(applied=False).count() == 32
    # And the device lane's run applies them all, the low battery too
    assert device_messages_apply_pending()["devices_applied"] == 1  # its 32 messages
    assert not DeviceMessage.objects.filter(applied=False).exists()
    assert [p.kind for p in DeviceProblem.objects.filter(state="open")] == ["low_battery"]


@pytest.mark.django_db(transaction=True)
def test_a_heartbeat_takes_no_lock_on_the_device(device, client, broker):
    """The device's row is what an alarm from it locks: a heartbeat never waits on it (nor
    makes an alarm wait). Held here by another connection, as an alarm's intake holds it."""
    import psycopg
    from django.db import connection

    holder = psycopg.connect(
        **{
            k: v
            for k, v in connection.get_connection_params().items()
            if k in ("dbname", "user", "password", "host", "port")
        }
    )
    try:
        holder.execute(
            "SELECT 1 FROM elders_alarmdevice WHERE serial = %s FOR NO KEY UPDATE", [device[0]]
        )
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            answer = send(client, device, message("heartbeat"))
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    finally:
        holder.rollback()
        holder.close()

    assert answer.status_code == 202
    assert broker()["device"] == []


def test_the_device_lane_is_wired_to_beat(settings):
    queues = settings.ANXIN_QUEUES
    assert settings.CELERY_BEAT_SCHEDULE["devices"]["options"]["queue"] == queues["device"]
    assert settings.CELERY_BEAT_SCHEDULE["devices"]["schedule"] <= 60
    purge = settings.CELERY_BEAT_SCHEDULE["device-messages-purge"]
    assert purge["options"]["queue"] == queues["bulk"]
    assert "alarms.tasks.devices_sweep" not in settings.ANXIN_WATCHED_TIMERS
    apply = settings.CELERY_BEAT_SCHEDULE["device-messages"]
    assert apply["options"]["queue"] == queues["device"] and apply["schedule"] <= 10


# Housekeeping


def test_the_purge_keeps_alarm_messages_and_recent_or_unapplied_ones(heard, device, client):
    old = timezone.now() - timedelta(days=settings.ANXIN["DEVICE_MESSAGE_KEEP_DAYS"] + 1)
    heard()
    heard("low_battery")
    send(client, device, message("sos"))  # linked to its alarm
    heard()  # recent: kept
    DeviceMessage.objects.exclude(pk=DeviceMessage.objects.order_by("-pk")[0].pk).update(
        received_at=old
    )
    alarm = Alarm.objects.get()
    kept_too = [
        DeviceMessage.objects.create(
            device_id=alarm.device_id,
            event_id=uuid.uuid4(),
            kind="heartbeat",
            at=old,
            received_at=old,
            delay_s=0,
            late=False,
            result="recorded",
            **fields,
        )
        for fields in ({"applied": False}, {"applied": True, "alarm": alarm})
    ]  # one never applied (kept until the sweep has), one an alarm refers to

    done = device_messages_purge()

    assert done == {"device_messages": 2}
    kept = list(DeviceMessage.objects.order_by("pk"))
    assert [(m.kind, m.alarm_id is not None) for m in kept] == [
        ("sos", True),
        ("heartbeat", False),
        ("heartbeat", False),
        ("heartbeat", True),
    ]
    assert kept[-2:] == kept_too
