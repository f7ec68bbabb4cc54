"""The operator calls the elder back from an alarm: the platform rings the operator's own phone,
says which elder and alarm it is and, on 1, dials the elder with the district's hotline number
shown; its progress is on the alarm, in events and in the queue. Twilio is the real backend,
mocked at its HTTP transport; its webhooks are signed as Twilio signs them."""

import re
import threading
from datetime import timedelta

import pytest
import requests
import responses
from django.db import connection
from django.utils import timezone

from alarms.models import Alarm
from alarms.services import alarm_dispatch_overdue, alarms_due_for_dispatch
from backend.core.models import Event
from hotline.alarm_call_back import alarm_call_backs_sweep, alarm_owner_template
from hotline.models import AlarmCallBack, HotlineNumber
from tests import factories as f
from tests.alarms.call_back_script import (
    PlacedCall,
    spoken,
    twilio_places_calls,
    twilio_refuses,
)
from tests.alarms.conftest import message, send
from tests.conftest import api
from tests.hotline.twiml import signed_post

HOTLINE = "+8643112349"
DESK = "+8613700000001"


@pytest.fixture
def alarm(device, client, district) -> Alarm:
    HotlineNumber.objects.create(number=HOTLINE, district=district, label="12349")
    answer = send(client, device, message("sos"))
    assert answer.status_code == 202, answer.content
    return Alarm.objects.get(pk=answer.json()["alarm_id"])


@pytest.fixture
def desk(operator):
    operator.phone = DESK
    operator.save()
    return operator


@pytest.fixture
def twilio(settings):
    """The real Twilio backend; Twilio's REST API takes every call (`twilio.placed`)."""
    settings.NOTIFICATION_BACKEND = "backend.telephony.twilio_backend.TwilioBackend"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.placed = []
        twilio_places_calls(mock, mock.placed)
        yield mock


def call_back(user, alarm: Alarm, **headers):
    return api(user).post(f"/api/v1/alarms/{alarm.pk}/call-back/", headers=headers)


def placed(client, twilio) -> PlacedCall:
    assert len(twilio.placed) == 1, twilio.placed
    return PlacedCall(client, twilio.placed[0])


def row() -> AlarmCallBack:
    return AlarmCallBack.objects.get()


def test_the_call_rings_the_operator_then_bridges_to_the_elder(
    alarm, desk, elder, twilio, client, english
):
    started = call_back(desk, alarm)

    assert started.status_code == 201, started.content
    form = twilio.placed[0]
    assert (form["To"], form["Method"]) == (DESK, "POST")
    assert form["Url"].endswith(f"/hooks/twilio/call-back/?step=answered&cb={row().pk}")
    call = placed(client, twilio)
    call.status("ringing")
    asked = call.answer()
    gather = asked.find("Gather")
    assert gather.get("numDigits") == "1" and asked[-1].tag == "Hangup"  # no key: no elder
    said = spoken(asked)
    assert elder.full_name in said and "SOS" in said and "press 1" in said
    dial = call.press(asked, "1")
    number = dial.find("Dial/Number")
    assert dial.find("Dial").get("callerId") == HOTLINE
    assert number.text == str(elder.phone.as_e164)
    assert "Calling" in spoken(dial)
    assert row().state == "ringing_elder"
    call.elder(dial, "ringing")
    call.elder(dial, "in-progress")
    assert row().state == "connected"
    after = call.dial_ends(dial, "completed")
    call.elder(dial, "completed")
    call.status("completed")

    assert after[-1].tag == "Hangup" and spoken(after) == ""
    done = row()
    assert (done.state, done.outcome, done.operator, done.line) == (
        "ended",
        "answered",
        desk,
        "mobile",
    )
    assert done.elder_answered_at is not None and done.ended_at is not None
    kinds = list(
        Event.objects.filter(subject_type="alarm", subject_id=alarm.pk)
        .order_by("pk")
        .values_list("kind", flat=True)
    )
    assert kinds == [
        "alarm.raised",
        "alarm.call_back_placing",
        "alarm.call_back_ringing_operator",
        "alarm.call_back_operator_answered",
        "alarm.call_back_ringing_elder",
        "alarm.acknowledged",  # on the operator's 1
        "alarm.call_back_connected",
        "alarm.call_back_ended",
    ]
    assert Event.objects.get(kind="alarm.call_back_ended").district_id == alarm.district_id


def test_the_operator_hears_the_alarm_in_chinese_unless_their_language_is_another(
    alarm, desk, elder, twilio, client
):
    call_back(desk, alarm)
    chinese = placed(client, twilio).answer()
    desk.language = "en"
    desk.save()

    english = placed(client, twilio).answer()

    assert chinese.find("Gather/Say").get("voice") == "Polly.Zhiyu"
    assert elder.full_name in spoken(chinese) and "按1" in spoken(chinese)
    assert english.find("Gather/Say").get("language") == "en-US"
    assert "press 1" in spoken(english)


def test_pressing_1_acknowledges_an_unacknowledged_alarm_for_the_caller(
    alarm, desk, twilio, client
):
    call_back(desk, alarm)
    call = placed(client, twilio)
    asked = call.answer()
    alarm.refresh_from_db()
    assert (alarm.state, alarm.acknowledged_by) == ("open", None)  # nobody has heard it yet

    call.press(asked, "1")

    alarm.refresh_from_db()
    assert (alarm.state, alarm.acknowledged_by) == ("acknowledged", desk)
    assert (alarm.resend_at, alarm.dispatch_due_at) == (None, None)
    assert Event.objects.get(kind="alarm.acknowledged").actor == desk
    listed = api(desk).get("/api/v1/alarms/queue/").json()["results"][0]
    assert listed["acknowledged_by"] == desk.username
    assert [(c["state"], c["operator"]) for c in listed["call_backs"]] == [
        ("ringing_elder", desk.username)
    ]


def test_a_call_back_nobody_answers_leaves_the_alarm_escalating(alarm, desk, twilio, client):
    """A wrong or switched-off operator phone: the platform re-sends and dispatches as if
    nobody had called back."""
    due = (alarm.resend_at, alarm.dispatch_due_at)
    call_back(desk, alarm)
    call = placed(client, twilio)
    call.status("ringing")
    call.status("no-answer")

    alarm.refresh_from_db()
    assert (alarm.state, alarm.acknowledged_by) == ("open", None)
    assert (alarm.resend_at, alarm.dispatch_due_at) == due
    assert alarms_due_for_dispatch(alarm.dispatch_due_at).filter(pk=alarm.pk).exists()
    Alarm.objects.filter(pk=alarm.pk).update(dispatch_due_at=timezone.now())  # its time came
    assert alarm_dispatch_overdue(alarm_id=alarm.pk)  # the sweep's step
    alarm.refresh_from_db()
    assert alarm.request is not None
    assert not Event.objects.filter(kind="alarm.acknowledged").exists()


def test_a_voicemail_box_on_the_operators_phone_acknowledges_nothing(alarm, desk, twilio, client):
    call_back(desk, alarm)
    call = placed(client, twilio)
    call.answer()  # a voicemail box picks up, and presses nothing
    call.status("completed")

    alarm.refresh_from_db()
    assert (row().outcome, alarm.state, alarm.acknowledged_by) == (
        "operator_no_answer",
        "open",
        None,
    )


def test_pressing_1_after_the_platform_dispatched_acknowledges_and_keeps_the_request(
    alarm, desk, twilio, client
):
    call_back(desk, alarm)
    call = placed(client, twilio)
    asked = call.answer()
    Alarm.objects.filter(pk=alarm.pk).update(dispatch_due_at=timezone.now())
    assert alarm_dispatch_overdue(alarm_id=alarm.pk)  # the sweep, before the 1
    request = Alarm.objects.get(pk=alarm.pk).request

    dial = call.press(asked, "1")

    alarm.refresh_from_db()
    assert dial.find("Dial/Number") is not None  # the call goes on
    assert (alarm.state, alarm.acknowledged_by, alarm.request) == ("acknowledged", desk, request)


def test_pressing_1_first_keeps_the_platform_from_dispatching(alarm, desk, twilio, client):
    call_back(desk, alarm)
    call = placed(client, twilio)
    call.press(call.answer(), "1")
    due = timezone.now() + timedelta(hours=1)

    assert not alarms_due_for_dispatch(due).filter(pk=alarm.pk).exists()
    assert not alarm_dispatch_overdue(alarm_id=alarm.pk)
    assert Alarm.objects.get(pk=alarm.pk).request is None


def test_a_colleague_who_acknowledged_meanwhile_keeps_the_alarm_and_the_call_goes_on(
    alarm, desk, district, twilio, client
):
    colleague = f.UserFactory(role="operator", district=district)
    call_back(desk, alarm)
    call = placed(client, twilio)
    asked = call.answer()
    api(colleague).post(f"/api/v1/alarms/{alarm.pk}/acknowledge/")

    dial = call.press(asked, "1")

    alarm.refresh_from_db()
    assert dial.find("Dial/Number") is not None
    assert (alarm.acknowledged_by, row().state) == (colleague, "ringing_elder")
    assert Event.objects.filter(kind="alarm.acknowledged").count() == 1


def reached_nobody(call: PlacedCall, asked, status: str):
    """The operator presses 1 on `asked` and the elder's phone gives up with `status`: what the
    operator then hears."""
    dial = call.press(asked, "1")
    return spoken(call.dial_ends(dial, status))


def test_an_elder_not_reached_leaves_the_alarm_the_callers_own_and_they_hear_so(
    alarm, desk, twilio, client, english
):
    call_back(desk, alarm)
    call = placed(client, twilio)

    said = reached_nobody(call, call.answer(), "no-answer")

    assert "did not answer." in said and "The alarm is still yours" in said
    assert Alarm.objects.get(pk=alarm.pk).acknowledged_by == desk


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed"])
def test_an_elder_not_reached_names_the_colleague_who_acknowledged_meanwhile(
    alarm, desk, district, twilio, client, english, status
):
    colleague = f.UserFactory(role="operator", district=district, first_name="Wang Fang")
    call_back(desk, alarm)
    call = placed(client, twilio)
    asked = call.answer()
    api(colleague).post(f"/api/v1/alarms/{alarm.pk}/acknowledge/")

    said = reached_nobody(call, asked, status)

    assert "still yours" not in said
    assert "Wang Fang has acknowledged the alarm and it is theirs" in said


def test_an_elder_not_reached_is_told_in_chinese_whose_the_alarm_is(
    alarm, desk, district, twilio, client
):
    colleague = f.UserFactory(role="operator", district=district, first_name="王芳")
    call_back(desk, alarm)
    call = placed(client, twilio)
    asked = call.answer()
    api(colleague).post(f"/api/v1/alarms/{alarm.pk}/acknowledge/")

    said = reached_nobody(call, asked, "busy")

    assert "王芳" in said and "占线" in said and "仍由您负责" not in said


def test_an_alarm_closed_during_the_call_is_said_closed(
    alarm, desk, district, twilio, client, english
):
    colleague = f.UserFactory(role="operator", district=district)
    call_back(desk, alarm)
    call = placed(client, twilio)
    asked = call.answer()
    api(colleague).post(f"/api/v1/alarms/{alarm.pk}/acknowledge/")
    dial = call.press(asked, "1")
    closed = api(colleague).post(
        f"/api/v1/alarms/{alarm.pk}/close/", {"outcome": "false_alarm"}, format="json"
    )
    assert closed.status_code == 200, closed.content

    said = spoken(call.dial_ends(dial, "no-answer"))

    assert "The alarm has been closed." in said and "yours" not in said


def test_whose_the_alarm_is_follows_its_acknowledgement(alarm, desk, district):
    colleague = f.UserFactory(role="operator", district=district)

    assert alarm_owner_template(alarm, desk.pk) == "call.alarm_call_back_unacknowledged"
    alarm.acknowledged_by = desk
    assert alarm_owner_template(alarm, desk.pk) == "call.alarm_call_back_yours"
    alarm.acknowledged_by = colleague
    assert alarm_owner_template(alarm, desk.pk) == "call.alarm_call_back_colleagues"
    alarm.state = "closed"
    assert alarm_owner_template(alarm, desk.pk) == "call.alarm_call_back_closed"


def test_a_colleague_may_call_back_an_alarm_someone_else_acknowledged(
    alarm, operator, district, twilio
):
    api(operator).post(f"/api/v1/alarms/{alarm.pk}/acknowledge/")
    supervisor = f.UserFactory(role="supervisor", district=district, phone="+8613700000002")

    started = call_back(supervisor, alarm)

    assert started.status_code == 201, started.content
    alarm.refresh_from_db()
    assert alarm.acknowledged_by == operator  # still theirs
    assert row().operator == supervisor


def test_the_elders_landline_is_dialled_when_they_have_no_mobile(
    alarm, desk, elder, twilio, client
):
    elder.phone, elder.landline = "", "+864318888777"
    elder.save()

    call_back(desk, alarm)
    call = placed(client, twilio)
    dial = call.press(call.answer(), "1")

    assert dial.find("Dial/Number").text == "+864318888777"
    assert row().line == "landline"


def test_an_operator_without_a_phone_is_told_to_register_one(alarm, operator, twilio, english):
    answer = call_back(operator, alarm)

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "operator_phone_missing"
    assert "phone" in answer.json()["error"]["fields"]
    assert twilio.placed == [] and not AlarmCallBack.objects.exists()
    alarm.refresh_from_db()
    assert alarm.state == "open"


def test_an_elder_without_a_phone_is_refused_naming_the_elder(alarm, desk, elder, twilio, english):
    elder.phone, elder.landline = "", ""
    elder.save()

    answer = call_back(desk, alarm)

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "elder_phone_missing"
    assert elder.full_name in answer.json()["error"]["message"]
    assert twilio.placed == [] and not AlarmCallBack.objects.exists()


def test_one_call_back_at_a_time_and_another_once_it_ended(
    alarm, desk, district, twilio, client, english
):
    colleague = f.UserFactory(role="operator", district=district, phone="+8613700000003")
    call_back(desk, alarm)

    refused = call_back(colleague, alarm)
    placed(client, twilio).status("no-answer")
    again = call_back(colleague, alarm)

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert (error["code"], error["operator"]) == ("call_back_in_progress", desk.username)
    assert desk.username in error["message"]
    assert again.status_code == 201, again.content
    first, second = AlarmCallBack.objects.order_by("pk")
    assert (first.state, first.outcome) == ("ended", "operator_no_answer")
    assert (second.state, second.operator) == ("ringing_operator", colleague)
    listed = api(desk).get("/api/v1/alarms/queue/").json()["results"][0]["call_backs"]
    assert [c["id"] for c in listed] == [second.pk, first.pk]


def test_a_closed_alarm_is_not_called_back(alarm, desk, twilio):
    api(desk).post(f"/api/v1/alarms/{alarm.pk}/acknowledge/")
    api(desk).post(f"/api/v1/alarms/{alarm.pk}/close/", {"outcome": "false_alarm"}, format="json")

    answer = call_back(desk, alarm)

    assert answer.status_code == 409 and answer.json()["error"]["code"] == "alarm_closed"
    assert twilio.placed == []


def test_another_districts_alarm_is_not_found(alarm, twilio):
    stranger = f.UserFactory(role="operator", district=f.DistrictFactory(), phone="+8613700000004")

    answer = call_back(stranger, alarm)

    assert answer.status_code == 404
    assert twilio.placed == [] and not AlarmCallBack.objects.exists()


def test_a_family_member_may_not_call_back(alarm, family, twilio):
    family.phone = "+8613700000005"
    family.save()

    assert call_back(family, alarm).status_code == 403
    assert twilio.placed == []


def test_a_retry_with_the_same_key_is_the_same_call_back(alarm, desk, twilio, client):
    first = call_back(desk, alarm, **{"Idempotency-Key": "cb-1"})
    placed(client, twilio).answer()
    again = call_back(desk, alarm, **{"Idempotency-Key": "cb-1"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert [c["id"] for c in again.json()["call_backs"]] == [row().pk]
    assert again.json()["call_backs"][0]["state"] == "operator_answered"  # as it stands now
    assert len(twilio.placed) == 1 and AlarmCallBack.objects.count() == 1
    assert Event.objects.filter(kind="alarm.call_back_placing").count() == 1


def test_the_same_key_for_another_alarm_is_refused(alarm, desk, elder, twilio, client):
    other = api(desk).post(
        f"/api/v1/elders/{elder.pk}/devices/",
        {"serial": "BTN-2", "kind": "button", "heartbeat_interval_s": 600},
        format="json",
    )
    device = (other.json()["serial"], other.json()["secret"])
    second = Alarm.objects.get(pk=send(client, device, message("sos")).json()["alarm_id"])
    call_back(desk, alarm, **{"Idempotency-Key": "cb-1"})

    reused = call_back(desk, second, **{"Idempotency-Key": "cb-1"})

    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert len(twilio.placed) == 1


def test_twilio_refusing_is_503_and_loses_nothing(alarm, desk, settings, english):
    settings.NOTIFICATION_BACKEND = "backend.telephony.twilio_backend.TwilioBackend"
    with responses.RequestsMock() as mock:
        twilio_refuses(mock, status=503, code=20500)
        refused = call_back(desk, alarm, **{"Idempotency-Key": "cb-1"})
    with responses.RequestsMock() as mock:
        mock.placed = []
        twilio_places_calls(mock, mock.placed)
        retried = call_back(desk, alarm, **{"Idempotency-Key": "cb-1"})

    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "telephony_unavailable"
    assert "20500" in refused.json()["error"]["message"]
    first, second = AlarmCallBack.objects.order_by("pk")
    assert (first.state, first.outcome, first.error_code) == ("ended", "not_placed", "20500")
    assert first.idempotency_key == ""  # freed: the retry is a new call-back
    assert not Event.objects.filter(kind="alarm.acknowledged").exists()
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert second.state == "ringing_operator" and len(mock.placed) == 1


def test_a_refused_call_leaves_the_alarm_open_and_escalating(alarm, desk, settings):
    settings.NOTIFICATION_BACKEND = "backend.telephony.twilio_backend.TwilioBackend"
    with responses.RequestsMock() as mock:
        twilio_refuses(mock, status=400, code=21211)
        refused = call_back(desk, alarm)

    assert refused.status_code == 503
    alarm.refresh_from_db()
    assert (alarm.state, alarm.acknowledged_by) == ("open", None)
    assert alarm.resend_at is not None and alarm.dispatch_due_at is not None


def test_twilio_not_answering_leaves_it_placing_until_twilio_reports(
    alarm, desk, settings, client, english
):
    settings.NOTIFICATION_BACKEND = "backend.telephony.twilio_backend.TwilioBackend"
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, re.compile(r".*/Calls\.json"), body=requests.ConnectTimeout())
        unknown = call_back(desk, alarm)

    assert unknown.status_code == 503
    assert "may still ring" in unknown.json()["error"]["message"]
    assert row().state == "placing"
    alarm.refresh_from_db()
    assert alarm.state == "open"  # not known to be under way: still escalating
    cb = row()
    late = PlacedCall(
        client,
        {
            "Sid": "CA" + "7" * 32,
            "Url": f"https://anxin.test/hooks/twilio/call-back/?step=answered&cb={cb.pk}",
            "StatusCallback": f"https://anxin.test/hooks/twilio/call-back/?step=status&cb={cb.pk}",
        },
    )

    late.status("ringing")  # Twilio did place it
    late.press(late.answer(), "1")

    assert (row().state, row().call_sid) == ("ringing_elder", "CA" + "7" * 32)
    alarm.refresh_from_db()
    assert alarm.acknowledged_by == desk


def test_a_retry_while_the_network_has_not_answered_is_503_then_a_new_call_once_ended(
    alarm, desk, settings, english
):
    """The same Idempotency-Key after "did not answer in time": the same 503 while the first
    is still placing (it may yet ring); once the sweep ended it unplaced, a new call."""
    settings.NOTIFICATION_BACKEND = "backend.telephony.twilio_backend.TwilioBackend"
    key = {"Idempotency-Key": "cb-1"}
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, re.compile(r".*/Calls\.json"), body=requests.ConnectTimeout())
        first = call_back(desk, alarm, **key)
        again = call_back(desk, alarm, **key)  # Twilio is not asked again
    AlarmCallBack.objects.update(updated_at=timezone.now() - timedelta(seconds=61))
    assert alarm_call_backs_sweep() == 1
    unplaced = row()
    with responses.RequestsMock() as mock:
        mock.placed = []
        twilio_places_calls(mock, mock.placed)
        retried = call_back(desk, alarm, **key)
        replayed = call_back(desk, alarm, **key)

    assert (first.status_code, again.status_code) == (503, 503)
    assert again.json()["error"] == first.json()["error"]
    assert "may still ring" in again.json()["error"]["message"]
    assert (unplaced.state, unplaced.outcome, unplaced.idempotency_key) == ("ended", "unknown", "")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert len(mock.placed) == 1
    assert replayed.status_code == 201 and replayed["Idempotent-Replayed"] == "true"
    second = AlarmCallBack.objects.latest("pk")
    assert (second.state, second.idempotency_key) == ("ringing_operator", "cb-1")


def test_a_call_back_ended_unplaced_answers_no_retry_even_holding_its_key(alarm, desk, twilio):
    """A row that ended with no call and still holds its key (written before keys were freed
    at the end) is no answer to replay: the retry places a call."""
    ended = AlarmCallBack.objects.create(
        alarm=alarm,
        operator=desk,
        operator_phone=DESK,
        elder_phone="+8613800000000",
        line="mobile",
        caller_id=HOTLINE,
        idempotency_key="cb-1",
        state="ended",
        outcome="unknown",
    )

    retried = call_back(desk, alarm, **{"Idempotency-Key": "cb-1"})

    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert len(twilio.placed) == 1
    ended.refresh_from_db()
    assert ended.idempotency_key == ""
    assert AlarmCallBack.objects.latest("pk").idempotency_key == "cb-1"


def test_a_second_call_back_the_lock_missed_is_409_from_the_constraint(
    alarm, desk, district, twilio, monkeypatch, english
):
    """The partial unique constraint backs the check made under the alarm's lock: a bug that
    skipped the check still answers 409 naming who, never a 500."""
    colleague = f.UserFactory(role="operator", district=district, phone="+8613700000003")
    call_back(desk, alarm)
    monkeypatch.setattr("hotline.alarm_call_back._refuse_if_in_progress", lambda alarm: None)

    refused = call_back(colleague, alarm)

    assert refused.status_code == 409, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["operator"]) == ("call_back_in_progress", desk.username)
    assert len(twilio.placed) == 1 and AlarmCallBack.objects.count() == 1


def test_the_webhooks_refuse_an_unsigned_or_incomplete_request(alarm, desk, twilio, client):
    call_back(desk, alarm)
    path = f"/hooks/twilio/call-back/?step=answered&cb={row().pk}"

    forged = signed_post(client, path, {"CallSid": "CA1"}, signature="bm9wZQ==")
    no_id = signed_post(client, "/hooks/twilio/call-back/?step=answered", {"CallSid": "CA1"})
    no_sid = signed_post(client, path, {"CallStatus": "in-progress"})

    assert forged.status_code == 403
    assert (no_id.status_code, no_id.content) == (400, b"Missing or invalid: cb")
    assert no_sid.status_code == 400
    assert row().state == "ringing_operator"


def test_the_queue_reads_call_backs_in_a_fixed_number_of_queries(
    alarm, desk, elder, client, twilio, django_assert_max_num_queries
):
    call_back(desk, alarm)
    placed(client, twilio).status("busy")
    call_back(desk, alarm)
    for n in range(4):
        more = api(desk).post(
            f"/api/v1/elders/{elder.pk}/devices/",
            {"serial": f"BTN-20{n}", "kind": "button", "heartbeat_interval_s": 600},
            format="json",
        )
        extra = send(client, (more.json()["serial"], more.json()["secret"]), message("fall"))
        call_back(desk, Alarm.objects.get(pk=extra.json()["alarm_id"]))
    assert AlarmCallBack.objects.count() == 6

    with django_assert_max_num_queries(4):  # count, page, the call-backs (seen: nothing new)
        rows = api(desk).get("/api/v1/alarms/queue/").json()["results"]

    assert len(rows) == 5 and sum(len(r["call_backs"]) for r in rows) == 6


@pytest.mark.django_db(transaction=True)
def test_two_call_backs_started_at_once_give_one_201_and_one_409(alarm, desk, district, twilio):
    """Two operators press "call back" on one alarm at the same moment, each request in its own
    thread and database connection: one call, and the other told who is calling."""
    colleague = f.UserFactory(role="operator", district=district, phone="+8613700000003")
    barrier = threading.Barrier(2)
    answers: dict[str, tuple[int, dict]] = {}

    def start(user) -> None:
        try:
            barrier.wait(10)
            answer = call_back(user, alarm)
            answers[user.username] = (answer.status_code, answer.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(user,)) for user in (desk, colleague)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(code for code, _ in answers.values()) == [201, 409], answers
    [(winner, _)] = [(name, body) for name, (code, body) in answers.items() if code == 201]
    [error] = [body["error"] for code, body in answers.values() if code == 409]
    assert (error["code"], error["operator"]) == ("call_back_in_progress", winner)
    assert AlarmCallBack.objects.get().operator.username == winner
    assert len(twilio.placed) == 1
