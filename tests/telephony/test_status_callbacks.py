"""Twilio's status callbacks arrive in any order; the row ends in the right state."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.telephony import flows
from backend.telephony.models import Notification
from backend.telephony.services import delivery_status_record, notifications_sweep

pytestmark = pytest.mark.django_db


def sent(channel="sms", sid="SM1", state="sent", **fields):
    return Notification.objects.create(
        event="visit.check_in:1",
        recipient="+8613800138000",
        channel=channel,
        template="sms.visit_check_in" if channel == "sms" else "call.visit_confirm",
        params={"elder": "王", "service": "meal", "time": "10:05", "reference": "R"},
        language="zh-hans",
        send_after=timezone.now(),
        state=state,
        provider_sid=sid,
        **fields,
    )


def record(sid, *statuses, error_code=""):
    for status in statuses:
        delivery_status_record(sid=sid, status=status, error_code=error_code)


@pytest.mark.parametrize(
    "order",
    [
        ("queued", "sending", "sent", "delivered"),
        ("delivered", "sent", "queued", "sending"),
        ("sent", "delivered", "queued"),
    ],
)
def test_an_sms_delivered_stays_delivered_whatever_the_order(order):
    sms = sent()

    record("SM1", *order)

    sms.refresh_from_db()
    assert (sms.state, sms.provider_status) == ("delivered", "delivered")
    assert sms.ended_at is not None


def test_an_undelivered_sms_is_failed_with_the_carriers_code_and_stays_failed():
    sms = sent()

    record("SM1", "undelivered", error_code="30003")
    record("SM1", "sent", "delivered")

    sms.refresh_from_db()
    assert (sms.state, sms.provider_status, sms.error_code) == ("failed", "undelivered", "30003")


def test_an_early_status_only_moves_the_row_forward():
    sms = sent()

    record("SM1", "sent", "queued")

    sms.refresh_from_db()
    assert (sms.state, sms.provider_status) == ("sent", "sent")


@pytest.mark.parametrize(
    "order, state",
    [
        (("initiated", "ringing", "in-progress", "completed"), "delivered"),
        (("completed", "ringing", "in-progress", "initiated"), "delivered"),
        (("ringing", "no-answer", "initiated"), "unanswered"),
        (("busy", "ringing"), "unanswered"),
    ],
)
def test_a_calls_statuses_in_any_order_end_in_its_final_state(order, state):
    call = sent("call", "CA1")

    record("CA1", *order)

    call.refresh_from_db()
    assert call.state == state
    assert call.provider_status == next(s for s in order if s in {"completed", "no-answer", "busy"})


def test_a_status_for_someone_elses_sid_is_not_ours():
    assert delivery_status_record(sid="SMunknown", status="delivered") is None


def test_a_call_that_ends_unanswered_ends_its_flow_once(flow):
    call = sent("call", "CA1", flow="test-flow")

    record("CA1", "ringing", "no-answer", "completed", "no-answer")

    assert flow["ended"] == [call.pk]


def test_a_call_answered_with_a_key_does_not_end_its_flow_again(flow):
    sent("call", "CA1", flow="test-flow", digits="1")

    record("CA1", "in-progress", "completed")

    assert flow["ended"] == []


def test_an_emergency_call_twilio_failed_is_placed_again(
    django_capture_on_commit_callbacks, outbox
):
    call = sent("call", "CA1", urgency="emergency")

    with django_capture_on_commit_callbacks(execute=True):
        record("CA1", "failed")

    again = Notification.objects.get(attempt=2)
    assert again.event == call.event and again.state == "sent"
    assert [m["kind"] for m in outbox] == ["call"]


def test_a_routine_call_twilio_failed_is_not_placed_again(django_capture_on_commit_callbacks):
    sent("call", "CA1")

    with django_capture_on_commit_callbacks(execute=True):
        record("CA1", "failed")

    assert Notification.objects.count() == 1


def test_a_callback_before_the_sid_is_saved_finds_its_row_by_the_id_in_its_url():
    # Twilio can report "sent" before its REST answer (with the SID) reaches the delivery task
    sms = sent(sid=None, state="sending")

    delivery_status_record(sid="SM9", status="delivered", notification_id=sms.pk)

    sms.refresh_from_db()
    assert (sms.provider_sid, sms.state, sms.provider_status) == ("SM9", "delivered", "delivered")


def test_a_callback_naming_a_row_with_another_sid_is_ignored():
    sms = sent(sid="SM1")

    assert delivery_status_record(sid="SM2", status="failed", notification_id=sms.pk) is None

    sms.refresh_from_db()
    assert (sms.state, sms.provider_status) == ("sent", "")


def taken_by_twilio(flow_name, ago, **fields):
    """An emergency call Twilio took `ago`; its statuses since are in `fields`."""
    return sent(
        channel="call",
        sid="CA1",
        urgency="emergency",
        flow=flow_name,
        sent_at=timezone.now() - ago,
        **fields,
    )


def test_a_call_whose_final_status_never_comes_ends_unanswered_and_its_flow_moves_on(flow):
    lost = taken_by_twilio("test-flow", timedelta(minutes=10), provider_status="ringing")

    notifications_sweep()
    notifications_sweep()  # told once
    record("CA1", "completed")  # the lost callback after all: recorded, ends nothing again

    lost.refresh_from_db()
    assert (lost.state, lost.error_code) == ("delivered", "no_final_status")
    assert lost.provider_status == "completed" and lost.ended_at is not None
    assert flow["ended"] == [lost.pk]
    assert Notification.objects.count() == 1  # not answered is no failure: not placed again


def test_a_call_ringing_within_the_bound_is_left_to_its_callbacks(flow, settings):
    within = timedelta(seconds=settings.ANXIN["CALL_FINAL_STATUS_WITHIN_S"] - 30)
    ringing = taken_by_twilio("test-flow", within, provider_status="ringing")

    notifications_sweep()

    ringing.refresh_from_db()
    assert (ringing.state, ringing.ended_at, flow["ended"]) == ("sent", None, [])


def test_an_answered_call_whose_end_never_comes_ends_its_flow_only_without_a_key(flow):
    keyed = taken_by_twilio("test-flow", timedelta(minutes=10), state="delivered", digits="1")
    keyed.provider_status = "in-progress"
    keyed.save()

    swept = notifications_sweep()

    keyed.refresh_from_db()
    assert swept["unheard"] == 1 and keyed.ended_at is not None
    assert flow["ended"] == []  # its answer was taken: nothing more to move on


@pytest.fixture
def flow_failing_once():
    """A call flow whose on_ended fails for the first row it is told about."""
    ended = []

    def on_ended(notification):
        if not ended:
            ended.append(None)
            raise RuntimeError("the flow's own bug")
        ended.append(notification.pk)

    flows.register_flow("failing-flow", on_digits=lambda n, d: None, on_ended=on_ended)
    yield ended
    flows._flows.pop("failing-flow", None)


def test_one_flow_failing_stops_no_other_call_the_sweep_ends(flow_failing_once):
    first = taken_by_twilio("failing-flow", timedelta(minutes=10), provider_status="ringing")
    second = sent(
        channel="call",
        sid="CA2",
        urgency="emergency",
        flow="failing-flow",
        sent_at=timezone.now() - timedelta(minutes=9),
        attempt=2,
    )

    swept = notifications_sweep()

    first.refresh_from_db()
    second.refresh_from_db()
    assert (second.state, second.error_code) == ("unanswered", "no_final_status")
    assert (first.state, first.ended_at) == ("sent", None)  # rolled back: the next run retries
    assert swept["unheard"] == 1
    assert notifications_sweep()["unheard"] == 1  # the next run ends it
    first.refresh_from_db()
    assert first.state == "unanswered"
    assert flow_failing_once == [None, second.pk, first.pk]
