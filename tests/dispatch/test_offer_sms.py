"""Workers without a connection: an offer the app has not opened goes by SMS with a short code,
and where two-way SMS is on, replying with the code accepts it through the signed sms/ webhook,
first accept wins."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.models import Event
from dispatch.models import JobOffer, ServiceRequest
from dispatch.tasks import sweep_deadlines
from tests.conftest import api
from tests.dispatch.conftest import create
from tests.dispatch.phone import reply_sms, sms

pytestmark = pytest.mark.django_db


@pytest.fixture
def replies_on(settings):
    settings.ANXIN = {**settings.ANXIN, "SMS_REPLIES": True}


def unopened_for_a_while(capture):
    JobOffer.objects.update(sent_at=timezone.now() - timedelta(minutes=2))
    with capture(execute=True):
        return sweep_deadlines()


@pytest.fixture
def texted(operator, elder, make_worker, outbox, django_capture_on_commit_callbacks):
    """A meal offered to a worker whose app never opened it, texted with its code."""
    worker = make_worker(east_m=30)
    sr = create(operator, elder, django_capture_on_commit_callbacks)
    swept = unopened_for_a_while(django_capture_on_commit_callbacks)
    assert swept["offers_texted"] == 1
    offer = JobOffer.objects.get(request_id=sr, worker=worker)
    return worker, offer


def test_an_unopened_offer_is_texted_once_with_a_code(texted, outbox):
    worker, offer = texted

    [message] = sms(outbox)
    again = sweep_deadlines()

    assert message["to"] == str(worker.phone)
    assert len(offer.sms_code) == 6 and offer.sms_code in message["body"]
    assert again["offers_texted"] == 0 and len(sms(outbox)) == 1
    assert Event.objects.filter(kind="offer.texted", subject_id=offer.pk).exists()


def test_where_replies_are_not_read_the_text_says_to_open_the_app(texted, outbox):
    [message] = sms(outbox)  # replies off: the default, as in mainland China

    assert message["template"] == "sms.offer_open_app"
    assert "回复" not in message["body"] and "App" in message["body"]


def test_where_replies_are_read_the_text_says_to_reply_with_the_code(
    replies_on, operator, elder, make_worker, outbox, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    create(operator, elder, django_capture_on_commit_callbacks)
    unopened_for_a_while(django_capture_on_commit_callbacks)

    [message] = sms(outbox)

    assert message["template"] == "sms.offer"
    assert JobOffer.objects.get(worker=worker).sms_code in message["body"]


def test_an_offer_the_app_opened_is_not_texted(
    operator, elder, make_worker, outbox, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    create(operator, elder, django_capture_on_commit_callbacks)
    offer = JobOffer.objects.get(worker=worker)

    opened = api(worker.user).post(f"/api/v1/offers/{offer.pk}/opened/")
    swept = unopened_for_a_while(django_capture_on_commit_callbacks)

    assert opened.status_code == 200 and opened.json()["opened_at"]
    assert swept["offers_texted"] == 0 and sms(outbox) == []


def test_replying_with_the_code_accepts_the_offer(
    texted, replies_on, django_capture_on_commit_callbacks
):
    worker, offer = texted

    answer = reply_sms(django_capture_on_commit_callbacks, str(worker.phone), f" {offer.sms_code} ")

    sr = ServiceRequest.objects.get(pk=offer.request_id)
    assert (sr.state, sr.assigned_worker_id) == ("assigned", worker.pk)
    assert JobOffer.objects.get(pk=offer.pk).state == "accepted"
    assert sr.reference in answer


def test_a_wrong_or_used_code_accepts_nothing(
    texted, replies_on, make_worker, django_capture_on_commit_callbacks
):
    worker, offer = texted
    capture = django_capture_on_commit_callbacks
    stranger = make_worker(east_m=5000)
    wrong = f"{(int(offer.sms_code) + 1) % 1_000_000:06d}"

    wrong_answer = reply_sms(capture, str(worker.phone), wrong)
    other_worker = reply_sms(capture, str(stranger.phone), offer.sms_code)
    assert ServiceRequest.objects.get(pk=offer.request_id).state == "offered"
    reply_sms(capture, str(worker.phone), offer.sms_code)
    used = reply_sms(capture, str(worker.phone), offer.sms_code)

    assert wrong_answer and wrong_answer == other_worker  # "that code does not match"
    assert used != wrong_answer and offer.request.reference in used
    assert JobOffer.objects.filter(request_id=offer.request_id, state="accepted").count() == 1


def test_without_two_way_sms_a_code_is_not_read(texted, django_capture_on_commit_callbacks):
    worker, offer = texted

    answer = reply_sms(django_capture_on_commit_callbacks, str(worker.phone), offer.sms_code)

    assert answer == ""  # nothing is answered where replies are off
    assert JobOffer.objects.get(pk=offer.pk).state == "pending"
    told = Event.objects.get(kind="callback.open")  # a person reads it instead (a call-back)
    assert told.data["workers"][0]["id"] == worker.pk
