"""Alarm devices: registered with a signing secret shown once, kept encrypted, rotated."""

import io

from cryptography.fernet import Fernet
from django.core.management import call_command

from backend.core.models import Event
from elders.models import AlarmDevice
from elders.services import device_secret
from tests.alarms.conftest import message, send
from tests.conftest import api


def test_registration_shows_the_secret_once_and_keeps_it_encrypted(device, elder, operator):
    serial, secret = device

    listed = api(operator).get(f"/api/v1/elders/{elder.pk}/devices/").json()
    row = AlarmDevice.objects.get(serial=serial)

    assert len(secret) == 64 and int(secret, 16) >= 0
    assert [d["serial"] for d in listed] == [serial] and "secret" not in listed[0]
    assert listed[0]["heartbeat_interval_s"] == 600
    assert secret not in row.secret_encrypted and device_secret(row) == secret
    assert Event.objects.filter(kind="elder.alarmdevice_added", subject_id=elder.pk).exists()


def test_a_heartbeat_interval_below_a_minute_is_refused(elder, operator):
    answer = api(operator).post(
        f"/api/v1/elders/{elder.pk}/devices/",
        {"serial": "W-1", "kind": "watch", "heartbeat_interval_s": 59},
        format="json",
    )

    assert answer.status_code == 400
    assert "heartbeat_interval_s" in answer.json()["error"]["fields"]


def test_rotation_gives_a_new_secret_once_and_the_old_one_stops(device, client, operator):
    serial, old = device
    pk = AlarmDevice.objects.get(serial=serial).pk

    answer = api(operator).post(f"/api/v1/devices/{pk}/rotate-secret/")
    new = answer.json()["secret"]

    assert answer.status_code == 200 and new != old and len(new) == 64
    assert send(client, device, message("heartbeat")).status_code == 401
    assert send(client, (serial, new), message("heartbeat")).status_code == 202
    rotated = Event.objects.get(kind="elder.device_secret_rotated")
    assert rotated.data == {"id": pk, "serial": serial} and rotated.actor == operator


def test_family_cannot_rotate_a_secret(device, family):
    pk = AlarmDevice.objects.get(serial=device[0]).pk

    answer = api(family).post(f"/api/v1/devices/{pk}/rotate-secret/")

    assert answer.status_code == 403


def test_rotating_the_field_keys_keeps_device_secrets_readable(device, settings):
    serial, secret = device
    old_key = settings.ANXIN_FIELD_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.ANXIN_FIELD_KEYS = [new_key, old_key]

    call_command("rotate_field_keys", stdout=io.StringIO(), stderr=io.StringIO())
    settings.ANXIN_FIELD_KEYS = [new_key]  # the old key is gone

    assert device_secret(AlarmDevice.objects.get(serial=serial)) == secret
