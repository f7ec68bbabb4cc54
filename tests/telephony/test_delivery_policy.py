"""The delivery policy, against Twilio's REST API as its HTTP transport sees it: routine
messages at most once, emergency calls at least once."""

import threading
from datetime import timedelta

import pytest
import responses
from django.db import connections
from django.utils import timezone

from backend.telephony.models import Notification
from backend.telephony.services import notifications_sweep, notify
from backend.telephony.tasks import notification_deliver
from tests.telephony.conftest import API

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
VISIT = {"elder": "王淑珍", "service": "meal", "time": "10:05", "reference": "250101-000042"}


def text(capture, **fields):
    with capture(execute=True):
        return notify(
            event=fields.pop("event", "visit.check_in:1"),
            to=PHONE,
            channel="sms",
            template="sms.visit_check_in",
            params=VISIT,
            language=fields.pop("language", "en"),
            **fields,
        )


def call(capture, **fields):
    with capture(execute=True):
        return notify(
            event="alert:7",
            to=PHONE,
            channel="call",
            template="call.no_worker",
            params=VISIT,
            language="zh-hans",
            urgency="emergency",
            **fields,
        )


def redeliver(notification):
    """The same delivery task again, as Redis redelivers it (or Celery retries it)."""
    return notification_deliver.apply(args=[notification.pk]).get()


def test_a_routine_sms_goes_to_twilio_rendered_with_the_status_callback(
    twilio, django_capture_on_commit_callbacks
):
    sms = text(django_capture_on_commit_callbacks)

    [sent] = twilio.sent("Messages")
    sms.refresh_from_db()
    assert sent["To"] == [PHONE]
    assert sent["Body"] == [
        "[Anxin] The caregiver for 王淑珍's meal arrived at 10:05. Order 250101-000042"
    ]
    assert sent["StatusCallback"] == [f"https://anxin.test/hooks/twilio/status/?n={sms.pk}"]
    assert (sms.state, sms.provider_sid) == ("sent", "SM" + f"{1:032x}")


def test_a_retried_routine_send_reaches_twilio_once(twilio, django_capture_on_commit_callbacks):
    sms = text(django_capture_on_commit_callbacks)

    again = redeliver(sms)
    text(django_capture_on_commit_callbacks)  # the same event told twice
    notifications_sweep()

    assert again == "skipped"
    assert len(twilio.sent("Messages")) == 1
    assert Notification.objects.count() == 1


def test_a_routine_send_whose_outcome_is_unknown_is_failed_and_never_resent(
    twilio, django_capture_on_commit_callbacks
):
    twilio.fail_next()

    sms = text(django_capture_on_commit_callbacks)
    redeliver(sms)
    notifications_sweep()

    sms.refresh_from_db()
    assert (sms.state, sms.error_code) == ("failed", "ConnectionError")
    assert len(twilio.sent("Messages")) == 1
    assert Notification.objects.count() == 1


def test_a_routine_sms_twilio_refuses_is_failed_with_twilios_code(
    twilio, django_capture_on_commit_callbacks
):
    twilio.refuse_next(21211)

    sms = text(django_capture_on_commit_callbacks)
    redeliver(sms)

    sms.refresh_from_db()
    assert (sms.state, sms.error_code) == ("failed", "21211")
    assert len(twilio.sent("Messages")) == 1


def test_a_routine_sms_its_worker_died_sending_is_failed_not_sent_again(twilio):
    stuck = Notification.objects.create(
        event="visit.check_out:1",
        recipient=PHONE,
        channel="sms",
        template="sms.visit_check_out",
        params=VISIT,
        language="en",
        send_after=timezone.now(),
        state="sending",
        sending_at=timezone.now() - timedelta(minutes=5),
    )

    redeliver(stuck)
    notifications_sweep()

    stuck.refresh_from_db()
    assert (stuck.state, stuck.error_code) == ("failed", "outcome_unknown")
    assert twilio.requests == []


@pytest.mark.django_db(transaction=True)
def test_the_row_is_sending_and_committed_before_twilio_is_asked(settings):
    """Seen from another session (as another worker would see it) while Twilio is asked."""
    settings.NOTIFICATION_BACKEND = "backend.telephony.twilio_backend.TwilioBackend"
    sms = Notification.objects.create(
        event="visit.check_in:9",
        recipient=PHONE,
        channel="sms",
        template="sms.visit_check_in",
        params=VISIT,
        language="en",
        send_after=timezone.now(),
    )
    seen = []

    def look_then_answer(request):
        def look():
            seen.append(Notification.objects.get(pk=sms.pk).state)
            connections.close_all()

        other = threading.Thread(target=look)
        other.start()
        other.join()
        return 201, {"Content-Type": "application/json"}, '{"sid": "SM1"}'

    with responses.RequestsMock() as mock:
        mock.add_callback(
            responses.POST,
            API.format(sid=settings.TWILIO_ACCOUNT_SID, kind="Messages"),
            look_then_answer,
        )
        assert redeliver(sms) == "sent"

    assert seen == ["sending"]


def test_a_failed_emergency_call_is_placed_again(twilio, django_capture_on_commit_callbacks):
    twilio.fail_next()

    first = call(django_capture_on_commit_callbacks)

    placed = twilio.sent("Calls")
    attempts = Notification.objects.order_by("attempt")
    assert [(n.attempt, n.state) for n in attempts] == [(1, "failed"), (2, "sent")]
    assert len(placed) == 2 and {p["To"][0] for p in placed} == {PHONE}
    assert placed[1]["Url"] == [f"https://anxin.test/hooks/twilio/voice/?n={attempts[1].pk}"]
    assert first.attempt == 1


def test_an_emergency_call_whose_worker_died_is_placed_again(
    twilio, django_capture_on_commit_callbacks
):
    first = Notification.objects.create(
        event="alert:8",
        recipient=PHONE,
        channel="call",
        template="call.no_worker",
        params=VISIT,
        language="zh-hans",
        urgency="emergency",
        send_after=timezone.now(),
        state="sending",
        sending_at=timezone.now() - timedelta(minutes=2),
    )

    with django_capture_on_commit_callbacks(execute=True):
        redeliver(first)  # the task comes back after its worker was lost

    first.refresh_from_db()
    assert (first.state, first.error_code) == ("failed", "outcome_unknown")
    assert [n.state for n in Notification.objects.filter(attempt=2)] == ["sent"]
    assert len(twilio.sent("Calls")) == 1


def test_an_emergency_call_still_being_placed_is_not_placed_twice(twilio):
    """A second delivery while the first is in flight (not yet stale) waits for it."""
    in_flight = Notification.objects.create(
        event="alert:9",
        recipient=PHONE,
        channel="call",
        template="call.no_worker",
        params=VISIT,
        language="zh-hans",
        urgency="emergency",
        send_after=timezone.now(),
        state="sending",
        sending_at=timezone.now() - timedelta(seconds=3),
    )

    redeliver(in_flight)
    notifications_sweep()

    assert twilio.requests == []
    assert Notification.objects.count() == 1


def test_emergency_attempts_back_off_and_stop_at_the_limit(
    twilio, settings, django_capture_on_commit_callbacks
):
    settings.ANXIN = {**settings.ANXIN, "NOTIFY_EMERGENCY_ATTEMPTS": 3}
    twilio.fail_next(10)

    call(django_capture_on_commit_callbacks)  # attempt 1 fails, attempt 2 at once, fails
    waiting = Notification.objects.get(attempt=3)
    assert waiting.state == "pending" and waiting.send_after > timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        notifications_sweep()  # not due yet
    Notification.objects.filter(pk=waiting.pk).update(send_after=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        notifications_sweep()

    assert [n.state for n in Notification.objects.order_by("attempt")] == ["failed"] * 3
    assert len(twilio.sent("Calls")) == 3


@pytest.mark.parametrize("code", [21211, 21214, 21614])
def test_an_emergency_call_to_a_number_refused_for_good_is_not_placed_again_and_its_flow_moves_on(
    twilio, flow, django_capture_on_commit_callbacks, code
):
    twilio.refuse_next(code)  # invalid, unreachable, not a mobile: HTTP 400

    first = call(django_capture_on_commit_callbacks, flow="test-flow")

    first.refresh_from_db()
    assert (first.state, first.error_code) == ("failed", str(code))
    assert Notification.objects.count() == 1  # no attempt 2
    assert len(twilio.sent("Calls")) == 1
    assert flow["ended"] == [first.pk]  # at once: a call-out dials its next number


@pytest.mark.parametrize(("code", "status"), [(20500, 500), (20503, 503), (20429, 429)])
def test_an_emergency_call_twilio_could_not_take_for_now_is_placed_again(
    twilio, flow, django_capture_on_commit_callbacks, code, status
):
    twilio.refuse_next(code, status=status)

    call(django_capture_on_commit_callbacks, flow="test-flow")

    attempts = Notification.objects.order_by("attempt")
    assert [(n.attempt, n.state) for n in attempts] == [(1, "failed"), (2, "sent")]
    assert attempts[0].error_code == str(code)
    assert flow["ended"] == []  # the call goes on: its flow waits for the second try


@pytest.mark.parametrize(
    ("code", "status"),
    [(20003, 401), (20005, 403), (21212, 400), (21215, 400), (21606, 400), (21608, 400)],
)
def test_a_refusal_about_our_own_configuration_gives_up_on_nobody_and_tells_the_operators(
    twilio, flow, django_capture_on_commit_callbacks, code, status
):
    from backend.core.models import Event
    from tests.factories import DistrictFactory

    districts = DistrictFactory.create_batch(2)
    twilio.refuse_next(code, status=status)
    twilio.refuse_next(code, status=status)  # the same mistake on the second try

    call(django_capture_on_commit_callbacks, flow="test-flow")

    attempts = Notification.objects.order_by("attempt")
    # Still trying (the third after its back-off): the recipient was never the problem.
    assert [n.state for n in attempts] == ["failed", "failed", "pending"]
    assert flow["ended"] == []
    told = Event.objects.filter(kind="telephony.misconfigured")
    assert sorted(told.values_list("district_id", flat=True)) == sorted(d.pk for d in districts)
    assert told.first().data["code"] == str(code)  # once per episode, not per refusal
