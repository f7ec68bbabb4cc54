"""POST /api/v1/alarms/: signed device messages, taken once, durable before the answer."""

import time
import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection

from alarms.models import Alarm, DeviceMessage
from alarms.tasks import device_messages_apply_pending
from backend.core.models import Event
from elders.models import AlarmDevice
from tests.alarms.conftest import message, send


def _server_time_given(answer) -> None:
    now = time.time()
    assert abs(int(answer["X-Anxin-Server-Time"]) - now) < 5
    assert abs(answer.json()["server_time"] - now) < 5


def test_an_sos_raises_an_alarm_for_the_district(device, client, elder):
    sos = message("sos", location={"type": "Point", "coordinates": [125.3245, 43.8868]})

    answer = send(client, device, sos)

    assert answer.status_code == 202, answer.content
    _server_time_given(answer)
    alarm = Alarm.objects.get()
    assert answer.json()["alarm_id"] == alarm.pk and answer.json()["result"] == "opened"
    assert (alarm.state, alarm.kind, alarm.elder_id, alarm.late) == ("open", "sos", elder.pk, False)
    assert alarm.location.coords == (125.3245, 43.8868)
    raised = Event.objects.get(kind="alarm.raised")
    assert raised.district_id == elder.district_id and raised.data["event_id"] == sos["event_id"]


def test_a_repeat_gets_the_same_answer_and_creates_nothing(device, client):
    sos = message("sos")

    first = send(client, device, sos).json()
    again = send(client, device, sos)

    assert again.status_code == 202
    drop = {"server_time"}
    assert {k: v for k, v in again.json().items() if k not in drop} == {
        k: v for k, v in first.items() if k not in drop
    }
    assert DeviceMessage.objects.count() == 1 and Alarm.objects.get().presses == 1
    assert Event.objects.filter(kind__startswith="alarm.").count() == 1


def test_a_late_message_is_taken_and_marked_late_with_its_delay(device, client):
    answer = send(client, device, message("fall", ago_s=2 * 3600), ago_s=2 * 3600)

    assert answer.status_code == 202
    alarm = Alarm.objects.get()
    assert alarm.late and 7190 <= alarm.delay_s <= 7210
    assert answer.json()["late"] and answer.json()["delay_s"] == alarm.delay_s
    assert Event.objects.get(kind="alarm.raised").data["delay_s"] == alarm.delay_s


def test_a_timestamp_a_little_ahead_is_taken_but_more_than_300_s_is_refused(device, client):
    near = send(client, device, message("sos"), ago_s=-200)
    far = send(client, device, message("sos"), ago_s=-400)

    assert near.status_code == 202
    assert far.status_code == 422 and far.json()["error"]["code"] == "in_future"
    assert "X-Anxin-Timestamp" in far.json()["error"]["fields"]
    _server_time_given(far)
    assert DeviceMessage.objects.count() == 1


def test_a_message_more_than_a_day_old_is_refused(device, client):
    answer = send(client, device, message("sos", ago_s=25 * 3600))

    assert answer.status_code == 422 and answer.json()["error"]["code"] == "too_old"
    assert "at" in answer.json()["error"]["fields"]
    assert not DeviceMessage.objects.exists() and not Alarm.objects.exists()


def test_a_bad_signature_is_401_and_told_to_the_district_once(device, client, elder):
    answers = [send(client, device, message("sos"), secret="0" * 64) for _ in range(3)]

    assert [a.status_code for a in answers] == [401, 401, 401]
    assert answers[0].json()["error"]["code"] == "bad_signature"
    _server_time_given(answers[0])
    refused = Event.objects.get(kind="device.refused")
    assert refused.district_id == elder.district_id and refused.data["reason"] == "bad_signature"
    assert AlarmDevice.objects.get(serial=device[0]).refusals.held_back == 2
    assert not Alarm.objects.exists()


def test_a_signature_over_other_bytes_is_refused(device, client):
    """The signature covers the raw body: the same JSON re-spaced no longer matches."""
    sos = message("sos")
    signed = send(client, device, sos)  # only to prove the device and body are fine
    serial, secret = device
    from alarms.protocol import signature

    timestamp = str(int(time.time()))
    body = b'{"event_id": "%s", "kind": "sos", "at": "%s"}' % (
        str(uuid.uuid4()).encode(),
        datetime.now(UTC).isoformat().encode(),
    )
    answer = client.post(
        "/api/v1/alarms/",
        data=body.replace(b": ", b":"),
        content_type="application/json",
        HTTP_X_ANXIN_DEVICE=serial,
        HTTP_X_ANXIN_TIMESTAMP=timestamp,
        HTTP_X_ANXIN_SIGNATURE=signature(secret, timestamp, body),
    )

    assert signed.status_code == 202 and answer.status_code == 401


def test_an_unknown_device_is_401(device, client):
    _, secret = device

    answer = send(client, ("NOPE-1", secret), message("sos"))

    assert answer.status_code == 401 and answer.json()["error"]["code"] == "unknown_device"
    _server_time_given(answer)
    assert not Event.objects.filter(kind="device.refused").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"kind": "party"}, "kind"),
        ({"at": "2026-01-05T08:30:00"}, "at"),
        ({"at": "yesterday"}, "at"),
        ({"battery": 101}, "battery"),
        ({"location": {"type": "Point", "coordinates": [500, 1]}}, "location"),
    ],
)
def test_a_malformed_body_is_400_naming_the_field(device, client, change, field):
    answer = send(client, device, {**message("sos"), **change})

    assert answer.status_code == 400
    assert list(answer.json()["error"]["fields"]) == [field]
    _server_time_given(answer)
    assert not DeviceMessage.objects.exists()


def test_a_body_that_is_not_a_json_object_is_400(device, client):
    answer = send(client, device, None, raw=b"[1, 2")

    assert answer.status_code == 400
    assert list(answer.json()["error"]["fields"]) == ["non_field_errors"]


def test_missing_headers_are_named(client):
    answer = client.post("/api/v1/alarms/", data=b"{}", content_type="application/json")

    assert answer.status_code == 400
    assert set(answer.json()["error"]["fields"]) == {
        "X-Anxin-Device",
        "X-Anxin-Timestamp",
        "X-Anxin-Signature",
    }


def test_repeated_presses_join_the_open_alarm(device, client):
    presses = [message("sos", ago_s=30), message("sos", ago_s=5), message("fall", ago_s=10)]

    results = [send(client, device, body).json()["result"] for body in presses]

    alarm = Alarm.objects.get()
    assert results == ["opened", "joined", "joined"]
    assert alarm.presses == 3 and alarm.kind == "sos"
    assert alarm.last_press_at == datetime.fromisoformat(presses[1]["at"])
    assert Event.objects.filter(kind="alarm.pressed").count() == 2


def test_a_heartbeat_and_low_battery_are_recorded_on_the_device(
    device, client, django_capture_on_commit_callbacks
):
    beat = message("heartbeat", ago_s=60, battery=80)
    low = message("low_battery", ago_s=90, battery=9)  # older: last seen does not move back

    with django_capture_on_commit_callbacks(execute=True):
        assert send(client, device, beat).json()["result"] == "recorded"
        assert send(client, device, low).json()["result"] == "recorded"
    assert not DeviceMessage.objects.filter(applied=True).exists()  # not in the request
    device_messages_apply_pending()  # the device lane's next run

    row = AlarmDevice.objects.get(serial=device[0])
    assert row.last_heartbeat_at == datetime.fromisoformat(beat["at"]) and row.battery_pct == 80
    assert not Alarm.objects.exists()
    assert list(DeviceMessage.objects.values_list("applied", flat=True)) == [True, True]
    # The older low reading does not outweigh the newer 80 %: no maintenance task
    # (tests/alarms/test_heartbeats.py)
    assert not Event.objects.filter(kind="device.low_battery").exists()


@pytest.mark.django_db(transaction=True)
def test_the_answer_does_not_wait_for_redis(device, client, monkeypatch):
    pushes = []

    def dead_redis(groups, envelope):
        pushes.append(envelope["type"])
        raise ConnectionError("Redis is down")

    monkeypatch.setattr("backend.core.events.push_to_groups", dead_redis)

    answer = send(client, device, message("sos", ago_s=1))

    assert answer.status_code == 202
    assert pushes == ["alarm.raised"]  # tried after the commit, and failed
    assert not connection.in_atomic_block
    assert Alarm.objects.filter(pk=answer.json()["alarm_id"], state="open").exists()


def test_messages_of_old_timestamps_are_fine_within_a_day(device, client):
    answer = send(client, device, message("heartbeat", ago_s=23 * 3600), ago_s=23 * 3600)

    assert answer.status_code == 202 and answer.json()["late"]


def test_a_flooding_device_is_throttled_with_the_server_time(device, client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"alarms": "2/min"},
    }

    answers = [send(client, device, message("heartbeat")) for _ in range(3)]

    assert [a.status_code for a in answers] == [202, 202, 429]
    _server_time_given(answers[2])
