"""Verify, then dispatch; every alarm ends: operators acknowledge (one of them), dispatch help
and close with an outcome; while nobody acknowledges, the alarms' sweep re-sends the alarm and,
after its kind's time, dispatches an emergency request itself, once."""

from datetime import timedelta

import pytest

from alarms.models import Alarm
from alarms.tasks import alarms_sweep
from backend.core.models import Event
from dispatch.models import Channel, Priority, ServiceRequest
from tests import factories as f
from tests.alarms.conftest import message, send
from tests.conftest import api


@pytest.fixture
def alarm(device, client) -> Alarm:
    answer = send(client, device, message("sos"))
    assert answer.status_code == 202, answer.content
    return Alarm.objects.get(pk=answer.json()["alarm_id"])


@pytest.fixture
def colleague(district):
    return f.UserFactory(role="operator", district=district, username="li.na")


def _received_ago(alarm: Alarm, seconds: int) -> None:
    """As if the alarm had been received `seconds` ago: every deadline moves back with it."""
    back = timedelta(seconds=seconds)
    alarm.refresh_from_db()
    fields = ["received_at", "ack_due_at", "resend_at", "dispatch_due_at"]
    for name in fields:
        if getattr(alarm, name) is not None:
            setattr(alarm, name, getattr(alarm, name) - back)
    alarm.save(update_fields=fields)


def _act(user, alarm: Alarm, action: str, body=None, **headers):
    return api(user).post(
        f"/api/v1/alarms/{alarm.pk}/{action}/", body or {}, format="json", headers=headers
    )


def test_one_operator_acknowledges_and_a_second_gets_409_naming_who(
    alarm, operator, colleague, english
):
    first = _act(operator, alarm, "acknowledge")
    second = _act(colleague, alarm, "acknowledge")

    assert first.status_code == 200, first.content
    assert first.json()["state"] == "acknowledged"
    assert first.json()["acknowledged_by"] == operator.username
    assert second.status_code == 409
    assert operator.username in second.json()["error"]["message"]
    alarm.refresh_from_db()
    assert alarm.acknowledged_by == operator
    assert (alarm.resend_at, alarm.dispatch_due_at) == (None, None)
    assert Event.objects.filter(kind="alarm.acknowledged", subject_id=alarm.pk).count() == 1


def test_an_acknowledgement_retried_with_its_key_is_answered_again(alarm, operator):
    first = _act(operator, alarm, "acknowledge", **{"Idempotency-Key": "ack-1"})
    again = _act(operator, alarm, "acknowledge", **{"Idempotency-Key": "ack-1"})

    assert (first.status_code, again.status_code) == (200, 200)
    assert Event.objects.filter(kind="alarm.acknowledged").count() == 1


def test_closing_records_the_outcome_and_operator_and_the_next_press_opens_a_new_alarm(
    alarm, operator, device, client
):
    _act(operator, alarm, "acknowledge")

    closed = _act(operator, alarm, "close", {"outcome": "false_alarm", "note": "pressed by hand"})
    press = send(client, device, message("sos"))

    assert closed.status_code == 200, closed.content
    alarm.refresh_from_db()
    assert (alarm.state, alarm.outcome, alarm.outcome_note) == (
        "closed",
        "false_alarm",
        "pressed by hand",
    )
    assert alarm.closed_by == operator and alarm.closed_at is not None
    assert press.json()["result"] == "opened" and press.json()["alarm_id"] != alarm.pk
    assert Alarm.objects.get(pk=press.json()["alarm_id"]).state == "open"
    assert Event.objects.get(kind="alarm.closed").data["outcome"] == "false_alarm"


def test_a_press_while_acknowledged_joins_the_alarm(alarm, operator, device, client):
    _act(operator, alarm, "acknowledge")

    press = send(client, device, message("sos"))

    assert press.json()["result"] == "joined" and press.json()["alarm_id"] == alarm.pk


def test_a_bad_outcome_is_refused_naming_the_field(alarm, operator):
    _act(operator, alarm, "acknowledge")

    answer = _act(operator, alarm, "close", {"outcome": "went_home"})

    assert answer.status_code == 400
    assert "outcome" in answer.json()["error"]["fields"]
    alarm.refresh_from_db()
    assert alarm.state == "acknowledged"


def test_an_unacknowledged_alarm_cannot_be_closed(alarm, operator):
    answer = _act(operator, alarm, "close", {"outcome": "false_alarm"})

    assert answer.status_code == 409
    alarm.refresh_from_db()
    assert alarm.state == "open"


def test_nobody_acknowledges_so_it_is_resent_to_operators_and_supervisors(alarm, district):
    supervisor = f.UserFactory(role="supervisor", district=district)
    _received_ago(alarm, 20)
    assert alarms_sweep()["alarms_resent"] == 0  # not yet: 30 s

    _received_ago(alarm, 15)
    done = alarms_sweep()

    assert done["alarms_resent"] == 1 and done["alarms_dispatched"] == 0
    resent = Event.objects.get(kind="alarm.resent", subject_id=alarm.pk)
    assert resent.district_id == district.pk and supervisor.pk in resent.recipients
    assert alarms_sweep()["alarms_resent"] == 0  # the next one is 30 s on
    _received_ago(alarm, 30)
    assert alarms_sweep()["alarms_resent"] == 1
    alarm.refresh_from_db()
    assert alarm.resent == 2


def test_nobody_acknowledges_so_the_platform_dispatches_once_after_the_kinds_time(alarm, elder):
    _received_ago(alarm, 55)
    assert alarms_sweep()["alarms_dispatched"] == 0  # sos: 60 s

    _received_ago(alarm, 10)
    first = alarms_sweep()
    second = alarms_sweep()

    assert (first["alarms_dispatched"], second["alarms_dispatched"]) == (1, 0)
    sr = ServiceRequest.objects.get(elder=elder)
    assert (sr.channel, sr.priority, sr.service_type.code) == (
        Channel.ALARM,
        Priority.EMERGENCY,
        "emergency",
    )
    alarm.refresh_from_db()
    assert alarm.request == sr and alarm.state == "open" and alarm.dispatch_due_at is None
    dispatched = Event.objects.get(kind="alarm.dispatched", subject_id=alarm.pk)
    assert dispatched.actor is None and dispatched.data["request"] == sr.pk


def test_an_acknowledged_alarm_is_neither_resent_nor_dispatched(alarm, operator, elder):
    _act(operator, alarm, "acknowledge")
    _received_ago(alarm, 600)

    done = alarms_sweep()

    assert (done["alarms_resent"], done["alarms_dispatched"]) == (0, 0)
    assert not ServiceRequest.objects.filter(elder=elder).exists()


def test_the_operator_dispatches_help_from_an_acknowledged_alarm_once(alarm, operator, elder):
    too_soon = _act(operator, alarm, "dispatch")
    _act(operator, alarm, "acknowledge")

    dispatched = _act(operator, alarm, "dispatch")
    again = _act(operator, alarm, "dispatch")

    assert too_soon.status_code == 409  # acknowledge first
    assert dispatched.status_code == 200, dispatched.content
    sr = ServiceRequest.objects.get(elder=elder)
    assert dispatched.json()["request"] == sr.pk
    assert dispatched.json()["request_reference"] == sr.reference
    assert (sr.channel, sr.priority, sr.caller) == (Channel.ALARM, Priority.EMERGENCY, operator)
    assert again.status_code == 409 and sr.reference in again.json()["error"]["message"]
    assert Event.objects.get(kind="alarm.dispatched").actor == operator


def test_the_queue_shows_open_alarms_first_with_what_operators_need(
    alarm, operator, elder, device, client
):
    _act(operator, alarm, "acknowledge")
    _act(operator, alarm, "close", {"outcome": "help_on_site"})
    fall = send(client, device, message("fall", ago_s=90), ago_s=90).json()["alarm_id"]
    send(client, device, message("fall"))

    rows = api(operator).get("/api/v1/alarms/queue/").json()["results"]

    assert [r["id"] for r in rows] == [fall, alarm.pk]
    first = rows[0]
    assert (first["state"], first["kind"], first["presses"], first["late"]) == (
        "open",
        "fall",
        2,
        True,
    )
    assert 85 <= first["delay_s"] <= 95 and first["elder_name"] == elder.full_name
    assert first["age_s"] >= 0 and first["dispatch_due_at"] is not None
    assert rows[1]["outcome"] == "help_on_site" and rows[1]["closed_by"] == operator.username


def test_another_districts_alarm_is_not_found(alarm):
    stranger = f.UserFactory(role="operator", district=f.DistrictFactory())

    acknowledged = _act(stranger, alarm, "acknowledge")
    listed = api(stranger).get("/api/v1/alarms/queue/").json()["results"]

    assert acknowledged.status_code == 404
    assert listed == []
    alarm.refresh_from_db()
    assert alarm.state == "open"


def test_a_family_member_may_not_see_the_queue(alarm, family):
    assert api(family).get("/api/v1/alarms/queue/").status_code == 403


def test_the_queue_reads_in_a_fixed_number_of_queries(
    alarm, operator, elder, client, django_assert_max_num_queries
):
    for n in range(5):
        more = api(operator).post(
            f"/api/v1/elders/{elder.pk}/devices/",
            {"serial": f"BTN-10{n}", "kind": "button", "heartbeat_interval_s": 600},
            format="json",
        )
        send(client, (more.json()["serial"], more.json()["secret"]), message("fall"))
    assert Alarm.objects.count() == 6

    with django_assert_max_num_queries(4):  # the user's session aside: count, page
        rows = api(operator).get("/api/v1/alarms/queue/").json()["results"]

    assert len(rows) == 6
