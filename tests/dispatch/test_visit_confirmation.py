"""Visit confirmation: at check-in the elder is called (or texted) "press 1 if your caregiver
has arrived"; each answer is recorded on the visit as an independent check, a denial alerts the
operators."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.models import Event
from backend.telephony.flows import sms_reply
from dispatch.models import JobOffer, OperatorAlert, Visit
from dispatch.tasks import sweep_deadlines
from tests.conftest import api
from tests.dispatch.conftest import ON_THE_DOORSTEP, create
from tests.dispatch.phone import answer, calls, reply_sms, sms, status

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirm_by(settings):
    def set_mode(mode: str) -> None:
        settings.ANXIN = {**settings.ANXIN, "VISIT_CONFIRMATION": mode, "SMS_REPLIES": True}

    return set_mode


@pytest.fixture
def check_in(operator, elder, make_worker, django_capture_on_commit_callbacks):
    def checked_in() -> Visit:
        worker = make_worker(east_m=30)
        capture = django_capture_on_commit_callbacks
        sr = create(operator, elder, capture)
        client = api(worker.user)
        with capture(execute=True):
            client.post(f"/api/v1/offers/{JobOffer.objects.get(worker=worker).pk}/accept/")
            client.post(f"/api/v1/requests/{sr}/check-in/", ON_THE_DOORSTEP, format="json")
        return Visit.objects.get(request_id=sr)

    return checked_in


@pytest.mark.parametrize(
    ("digits", "ending", "recorded"),
    [
        ("1", "completed", "confirmed"),
        ("3", "completed", "denied"),
        (None, "no-answer", "no_answer"),
    ],
)
def test_the_elders_answer_on_the_phone_is_recorded_on_the_visit(
    confirm_by,
    check_in,
    elder,
    outbox,
    django_capture_on_commit_callbacks,
    digits,
    ending,
    recorded,
):
    confirm_by("call")
    capture = django_capture_on_commit_callbacks
    visit = check_in()
    [call] = calls(outbox)

    if digits is not None:
        answer(capture, call, digits)
    status(capture, call, ending)

    visit.refresh_from_db()
    assert call["to"] == str(elder.phone)
    assert (visit.confirmation_channel, visit.confirmation) == ("call", recorded)
    assert Event.objects.filter(kind=f"visit.confirmation_{recorded}", subject_id=visit.pk)
    denied = OperatorAlert.objects.filter(visit=visit, kind="visit_denied").exists()
    assert denied == (recorded == "denied")
    assert visit.verified is False  # still on site; the confirmation is not the verification


def test_an_sms_reply_confirms_and_silence_is_no_answer(
    confirm_by, check_in, elder, outbox, django_capture_on_commit_callbacks
):
    confirm_by("sms")
    capture = django_capture_on_commit_callbacks
    first = check_in()
    reply_sms(capture, str(elder.phone), "１")  # a full-width digit, as phones often send
    second = check_in()
    Visit.objects.filter(pk=second.pk).update(
        confirmation_due_at=timezone.now() - timedelta(seconds=1)
    )

    swept = sweep_deadlines()

    assert [m["to"] for m in sms(outbox)] == [str(elder.phone)] * 2
    assert Visit.objects.get(pk=first.pk).confirmation == "confirmed"
    assert swept["visit_confirmations_unanswered"] == 1
    assert Visit.objects.get(pk=second.pk).confirmation == "no_answer"


def test_a_replayed_1_does_not_answer_the_next_visits_confirmation(
    confirm_by, check_in, elder, django_capture_on_commit_callbacks
):
    confirm_by("sms")
    first = check_in()
    sms_reply(str(elder.phone), "1", message_sid="SM1")
    second = check_in()

    replayed = sms_reply(str(elder.phone), "1", message_sid="SM1")  # a signed request again

    assert replayed is None
    assert Visit.objects.get(pk=first.pk).confirmation == "confirmed"
    assert Visit.objects.get(pk=second.pk).confirmation == "pending"


def test_off_by_default_nobody_is_asked(check_in, outbox):
    visit = check_in()

    assert visit.confirmation == "" and calls(outbox) == []
