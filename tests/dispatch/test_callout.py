"""The emergency call-out: an emergency nobody accepts in time calls the elder's emergency
contacts in priority order (each one's phone, then their other phone) until one presses 1; the
calls are answered, keyed and ended through the signed webhooks, as Twilio would."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.models import Event
from backend.telephony.backends import RecordingBackend
from backend.telephony.errors import ProviderError
from backend.telephony.models import Notification
from backend.telephony.services import notifications_sweep
from dispatch.models import CallOut, CallOutAttempt, OperatorAlert, ServiceRequest
from dispatch.tasks import sweep_deadlines
from tests import factories as f
from tests.dispatch.conftest import create
from tests.dispatch.phone import answer, calls, spoken, status

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts(elder):
    """A son with a mobile and a landline, then a daughter, then a neighbour."""
    son = f.ContactFactory(elder=elder, priority=1, name="李明", alt_phone="+862188880001")
    daughter = f.ContactFactory(elder=elder, priority=2, name="李红")
    neighbour = f.ContactFactory(elder=elder, priority=3, name="张芳")
    return son, daughter, neighbour


def test_contacts_are_called_in_order_until_one_presses_1(
    operator, elder, contacts, outbox, django_capture_on_commit_callbacks
):
    son, daughter, neighbour = contacts
    capture = django_capture_on_commit_callbacks
    sr = create(operator, elder, capture, service="emergency")  # nobody to offer it to
    [first] = calls(outbox)

    status(capture, first, "no-answer")
    second = calls(outbox)[1]
    asked_again = answer(capture, second, "2")  # not 1: asked again, then they hang up
    status(capture, second, "completed")
    third = calls(outbox)[2]
    thanks = answer(capture, third, "1")
    status(capture, third, "completed")
    with capture(execute=True):
        sweep_deadlines()
        notifications_sweep()

    assert [c["to"] for c in calls(outbox)] == [
        str(son.phone),
        str(son.alt_phone),
        str(daughter.phone),
    ]  # the neighbour, next on the list, is never dialled
    assert str(neighbour.phone) not in [c["to"] for c in calls(outbox)]
    assert asked_again.find("Gather") is not None  # a wrong key is asked again
    assert thanks.find("Gather") is None and "120" in spoken(thanks)
    callout = CallOut.objects.get(request_id=sr)
    assert (callout.state, callout.taken_by) == ("taken", daughter)
    assert list(callout.attempts.values_list("state", flat=True)) == [
        "not_taken",
        "not_taken",
        "taken",
        "waiting",  # never called
    ]
    taken = Event.objects.get(kind="callout.taken", subject_id=sr)
    assert taken.subject_type == "request" and taken.district_id == elder.district_id
    assert (taken.data["contact"], taken.data["name"]) == (daughter.pk, "李红")
    assert not OperatorAlert.objects.filter(request_id=sr, kind="callout_unanswered").exists()


def test_nobody_pressing_1_alerts_the_operators_to_call_120(
    operator, elder, contacts, outbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    sr = create(operator, elder, capture, service="emergency")

    for i, ending in enumerate(["busy", "no-answer", "completed", "no-answer"]):
        call = calls(outbox)[i]
        if ending == "completed":
            answer(capture, call, None)  # answered, no key, hung up
        status(capture, call, ending)

    assert len(calls(outbox)) == 4
    assert CallOut.objects.get(request_id=sr).state == "nobody"
    alert = OperatorAlert.objects.get(request_id=sr, kind="callout_unanswered")
    raised = Event.objects.get(kind="alert.raised", subject_id=alert.pk)
    assert "120" in raised.data["instruction"]
    assert ServiceRequest.objects.get(pk=sr).state == "escalated"


def test_a_call_that_never_reports_back_counts_as_unanswered_by_the_notifications_sweep(
    operator, elder, contacts, outbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    sr = create(operator, elder, capture, service="emergency")
    earlier = timezone.now() - timedelta(minutes=10)
    Notification.objects.filter(channel="call").update(sent_at=earlier)

    with capture(execute=True):
        swept = notifications_sweep()

    assert swept["unheard"] == 1
    first = CallOutAttempt.objects.get(callout__request_id=sr, position=1)
    assert (first.state, first.outcome) == ("timed_out", "no_final_status")
    assert calls(outbox)[1]["to"] == "+862188880001"


def test_a_number_refused_for_good_passes_the_call_out_on_at_once(
    operator, elder, contacts, outbox, django_capture_on_commit_callbacks, monkeypatch
):
    son, _, _ = contacts
    capture = django_capture_on_commit_callbacks
    place_call = RecordingBackend.place_call

    def refuse_the_first_number(self, **kwargs):
        if kwargs["to"] == str(son.phone):
            raise ProviderError("21211", permanent=True, status=400)  # not a valid number
        return place_call(self, **kwargs)

    monkeypatch.setattr(RecordingBackend, "place_call", refuse_the_first_number)

    sr = create(operator, elder, capture, service="emergency")

    assert [c["to"] for c in calls(outbox)] == [str(son.alt_phone)]  # the next, at once
    tries = Notification.objects.filter(channel="call", recipient=str(son.phone))
    assert list(tries.values_list("attempt", "state", "error_code")) == [(1, "failed", "21211")]
    first = CallOutAttempt.objects.get(callout__request_id=sr, position=1)
    assert (first.state, first.outcome) == ("not_taken", "failed")


def test_a_failed_emergency_call_is_placed_again_before_the_next_contact(
    operator, elder, contacts, outbox, django_capture_on_commit_callbacks, monkeypatch
):
    son, _, _ = contacts
    capture = django_capture_on_commit_callbacks
    place_call = RecordingBackend.place_call
    refused = []

    def refuse_once(self, **kwargs):
        if not refused:
            refused.append(kwargs["to"])
            raise OSError("connection reset")
        return place_call(self, **kwargs)

    monkeypatch.setattr(RecordingBackend, "place_call", refuse_once)

    sr = create(operator, elder, capture, service="emergency")

    assert refused == [str(son.phone)]
    assert [c["to"] for c in calls(outbox)] == [str(son.phone)]  # the second try went out
    tries = Notification.objects.filter(channel="call", recipient=str(son.phone))
    assert sorted(tries.values_list("attempt", "state")) == [(1, "failed"), (2, "sent")]
    assert CallOutAttempt.objects.get(callout__request_id=sr, position=1).state == "calling"


def test_a_work_order_accepted_meanwhile_stops_the_call_out(
    operator, elder, contacts, outbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    sr = create(operator, elder, capture, service="emergency")
    ServiceRequest.objects.filter(pk=sr).update(state="assigned")

    status(capture, calls(outbox)[0], "no-answer")

    assert len(calls(outbox)) == 1
    assert CallOut.objects.get(request_id=sr).state == "stopped"
    assert not OperatorAlert.objects.filter(request_id=sr, kind="callout_unanswered").exists()
