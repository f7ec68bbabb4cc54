"""An alarm is seen when a push of it reaches a staff member's socket, or their queue lists it;
until then the alarms' sweep pushes it again (its own event, the same id) every few seconds."""

import asyncio
from datetime import timedelta
from unittest import mock

import pytest
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from alarms import services
from alarms.models import Alarm
from alarms.tasks import alarms_sweep
from backend.asgi import application
from backend.core import events
from backend.core.models import Event
from backend.core.tickets import ws_ticket_issue
from tests.alarms.conftest import message, send
from tests.conftest import api, run_bounded

HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


@pytest.fixture
def alarm(device, client) -> Alarm:
    answer = send(client, device, message("fall"))
    assert answer.status_code == 202, answer.content
    return Alarm.objects.get(pk=answer.json()["alarm_id"])


def _ago(alarm: Alarm, seconds: float) -> None:
    Alarm.objects.filter(pk=alarm.pk).update(
        announce_at=timezone.now() - timedelta(seconds=seconds)
    )


@pytest.mark.django_db
def test_an_alarm_nobody_saw_is_pushed_again_with_its_own_event_until_someone_sees_it(
    alarm, operator, django_capture_on_commit_callbacks
):
    raised = Event.objects.get(kind="alarm.raised", subject_id=alarm.pk)
    assert alarms_sweep()["alarms_announced"] == 0  # not due: 3 s after it was received
    _ago(alarm, 0.1)

    with (
        mock.patch.object(services, "push_to_groups") as push,
        django_capture_on_commit_callbacks(execute=True),
    ):
        done = alarms_sweep()

    assert done["alarms_announced"] == 1
    (groups, envelope), _ = push.call_args
    assert groups == [f"district.{alarm.district_id}"]
    assert envelope["id"] == raised.pk and envelope["type"] == "alarm.raised"
    assert alarms_sweep()["alarms_announced"] == 0  # the next is 3 s on
    alarm.refresh_from_db()
    assert alarm.announce_at - timezone.now() > timedelta(seconds=2)
    # The operator's queue lists it: seen, never pushed again
    assert api(operator).get("/api/v1/alarms/queue/").status_code == 200
    alarm.refresh_from_db()
    assert alarm.shown_at is not None and alarm.announce_at is None
    _ago(alarm, 10)
    Alarm.objects.filter(pk=alarm.pk).update(announce_at=timezone.now())
    assert alarms_sweep()["alarms_announced"] == 0


@pytest.mark.django_db
def test_acknowledging_records_it_seen_and_ends_the_announcements(alarm, operator):
    answer = api(operator).post(f"/api/v1/alarms/{alarm.pk}/acknowledge/")

    assert answer.status_code == 200
    alarm.refresh_from_db()
    assert alarm.shown_at is not None and alarm.announce_at is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_the_first_push_to_reach_a_staff_members_socket_is_when_it_was_seen(
    device, operator, client
):
    ticket = ws_ticket_issue(user=operator)

    async def listen_while_raised():
        socket = WebsocketCommunicator(application, f"/ws/?ticket={ticket.token}", headers=HEADERS)
        connected, _ = await socket.connect()
        assert connected
        await socket.receive_json_from()  # hello
        answer = await asyncio.to_thread(send, client, device, message("sos"))
        assert answer.status_code == 202
        pushed = await socket.receive_json_from(timeout=5)
        for _ in range(50):  # the delivery is recorded beside the socket, not before it
            await asyncio.sleep(0.05)
            if await asyncio.to_thread(_shown, answer.json()["alarm_id"]):
                break
        await socket.disconnect()
        return answer.json()["alarm_id"], pushed

    alarm_id, pushed = run_bounded(listen_while_raised())

    assert pushed["type"] == "alarm.raised" and pushed["data"]["subject"]["id"] == alarm_id
    alarm = Alarm.objects.get(pk=alarm_id)
    assert alarm.shown_at is not None and alarm.announce_at is None
    assert alarm.received_at <= alarm.shown_at


def _shown(alarm_id: int) -> bool:
    return Alarm.objects.filter(pk=alarm_id, shown_at__isnull=False).exists()


@pytest.mark.django_db
def test_a_family_members_socket_does_not_count_as_seen(alarm):
    from tests import factories as f

    family = f.UserFactory(role="family")
    envelope = events.event_envelope(Event.objects.get(kind="alarm.raised", subject_id=alarm.pk))

    services.alarm_delivered(family, envelope)

    alarm.refresh_from_db()
    assert alarm.shown_at is None


@pytest.mark.django_db
def test_a_seen_write_that_failed_is_tried_again_on_the_next_delivery(alarm, operator):
    envelope = events.event_envelope(Event.objects.get(kind="alarm.raised", subject_id=alarm.pk))
    services._SEEN_HERE.pop(alarm.pk, None)

    with (
        mock.patch.object(services, "alarms_shown", side_effect=RuntimeError("pool timeout")),
        pytest.raises(RuntimeError),
    ):
        services.alarm_delivered(operator, envelope)
    services.alarm_delivered(operator, envelope)

    alarm.refresh_from_db()
    assert alarm.shown_at is not None


@pytest.mark.django_db
def test_a_deactivated_staff_members_socket_does_not_count_as_seen(alarm, operator):
    envelope = events.event_envelope(Event.objects.get(kind="alarm.raised", subject_id=alarm.pk))
    operator.is_active = False

    services.alarm_delivered(operator, envelope)

    alarm.refresh_from_db()
    assert alarm.shown_at is None


def test_announcements_back_off_as_an_alarm_waits_unseen():
    after = services.announce_again_after

    assert after(timedelta(seconds=3)) == timedelta(seconds=3)
    assert after(timedelta(seconds=20)) == timedelta(seconds=10)
    assert after(timedelta(minutes=10)) == timedelta(seconds=30)
