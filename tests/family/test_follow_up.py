"""Rating a finished visit and complaining about one, on the family page: through the services
the API uses (dispatch.follow_up), once per form (its idempotency key), only for the member's
own elders' visits, and what was given is shown on the page."""

from datetime import datetime, timedelta

import pytest

from backend.core.models import Event
from dispatch.models import Complaint, Feedback, RequestState, ServiceRequest
from tests.family.conftest import SHANGHAI, form_key, request_for, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished(elder, worker):
    start = datetime.now(SHANGHAI) - timedelta(hours=3)
    return request_for(elder, start=start, state=RequestState.COMPLETED, worker=worker)


@pytest.fixture
def under_way(elder, worker):
    start = datetime.now(SHANGHAI)
    return request_for(elder, start=start, state=RequestState.EN_ROUTE, worker=worker)


def rate(client, sr, rating="4", comment="准时，很细心", key=None):
    page = client.get(f"/family/visits/{sr.pk}/rate/").content.decode()
    key = key or form_key(page)
    return client.post(
        f"/family/visits/{sr.pk}/rate/",
        {"rating": rating, "comment": comment, "idempotency_key": key},
    )


def complain(client, sr, reason="late", text="晚到了一个小时", key=None):
    page = client.get(f"/family/visits/{sr.pk}/complain/").content.decode()
    key = key or form_key(page)
    return client.post(
        f"/family/visits/{sr.pk}/complain/",
        {"reason": reason, "text": text, "idempotency_key": key},
    )


# Rating ----------------------------------------------------------------------------------------


def test_a_finished_visit_is_rated_once_and_the_page_shows_the_rating(family, finished):
    client = signed_in(family)
    before = client.get("/family/").content.decode()

    answer = rate(client, finished)

    assert f'href="/family/visits/{finished.pk}/rate/"' in before
    assert answer.status_code == 302
    assert answer["Location"] == f"/family/#visit-{finished.pk}"
    feedback = Feedback.objects.get(request=finished)
    assert (feedback.rating, feedback.comment, feedback.given_by) == (4, "准时，很细心", family)
    assert ServiceRequest.objects.get(pk=finished.pk).state == RequestState.CLOSED
    after = client.get("/family/").content.decode()
    assert 'data-given="rating"' in after and "准时，很细心" in after
    assert f'href="/family/visits/{finished.pk}/rate/"' not in after


def test_a_low_rating_opens_a_complaint_there_and_the_page_shows_it(family, finished):
    client = signed_in(family)

    rate(client, finished, rating="1", comment="没有送到")

    complaint = Complaint.objects.get(request=finished)
    assert (complaint.reason, complaint.opened_by, complaint.text) == (
        "low_rating",
        family,
        "没有送到",
    )
    assert Event.objects.filter(kind="complaint.opened", subject_id=complaint.pk).exists()
    assert 'data-given="complaint"' in client.get("/family/").content.decode()


def test_a_second_rating_is_refused_with_a_409_not_a_500(family, finished):
    client = signed_in(family)
    rate(client, finished, rating="5")

    again = rate(client, finished, rating="2", key="another-form")

    assert again.status_code == 409
    assert Feedback.objects.get(request=finished).rating == 5
    assert not Complaint.objects.exists()
    # The rating page now shows what was given instead of a form.
    page = client.get(f"/family/visits/{finished.pk}/rate/").content.decode()
    assert 'data-given="rating"' in page and 'name="rating"' not in page


def test_the_same_rating_form_sent_twice_rates_once(family, finished):
    client = signed_in(family)
    key = form_key(client.get(f"/family/visits/{finished.pk}/rate/").content.decode())

    first = rate(client, finished, key=key)
    second = rate(client, finished, key=key)

    assert first.status_code == second.status_code == 302
    assert Feedback.objects.filter(request=finished).count() == 1


@pytest.mark.parametrize("rating", ["0", "6", "", "good"])
def test_a_bad_rating_is_a_400_naming_the_field(family, finished, rating):
    answer = rate(signed_in(family), finished, rating=rating)

    assert answer.status_code == 400
    assert 'data-field="rating"' in answer.content.decode()
    assert not Feedback.objects.exists()


def test_a_visit_not_yet_finished_cannot_be_rated(family, under_way):
    client = signed_in(family)

    page = client.get(f"/family/visits/{under_way.pk}/rate/")
    posted = client.post(f"/family/visits/{under_way.pk}/rate/", {"rating": "5"})

    assert page.status_code == posted.status_code == 409
    assert not Feedback.objects.exists()


def test_another_familys_visit_cannot_be_rated_or_complained_of(family, stranger, worker):
    _, their_elder = stranger
    start = datetime.now(SHANGHAI) - timedelta(hours=3)
    theirs = request_for(their_elder, start=start, state=RequestState.COMPLETED, worker=worker)
    client = signed_in(family)

    answers = [
        client.get(f"/family/visits/{theirs.pk}/rate/"),
        client.post(f"/family/visits/{theirs.pk}/rate/", {"rating": "1"}),
        client.get(f"/family/visits/{theirs.pk}/complain/"),
        client.post(f"/family/visits/{theirs.pk}/complain/", {"reason": "late", "text": "x"}),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert not Feedback.objects.exists() and not Complaint.objects.exists()


# Complaining -----------------------------------------------------------------------------------


def test_a_visit_under_way_is_complained_of_with_a_reason(family, under_way):
    client = signed_in(family)

    answer = complain(client, under_way)

    assert answer.status_code == 302
    complaint = Complaint.objects.get(request=under_way)
    assert (complaint.reason, complaint.text, complaint.opened_by) == (
        "late",
        "晚到了一个小时",
        family,
    )
    assert complaint.state == "open" and complaint.feedback is None
    event = Event.objects.get(kind="complaint.opened", subject_id=complaint.pk)
    assert event.actor == family and event.data == {"request": under_way.pk, "reason": "late"}
    page = client.get("/family/").content.decode()
    assert 'data-given="complaint"' in page
    assert f'href="/family/visits/{under_way.pk}/complain/"' not in page  # one open at a time


def test_a_second_complaint_while_the_first_is_open_is_a_409(family, under_way):
    client = signed_in(family)
    complain(client, under_way)

    again = complain(client, under_way, reason="conduct", text="态度不好")

    assert again.status_code == 409
    assert Complaint.objects.filter(request=under_way).count() == 1


def test_the_same_complaint_form_sent_twice_files_one(family, under_way):
    client = signed_in(family)
    key = form_key(client.get(f"/family/visits/{under_way.pk}/complain/").content.decode())

    first = complain(client, under_way, key=key)
    second = complain(client, under_way, key=key)

    assert first.status_code == second.status_code == 302
    assert Complaint.objects.filter(request=under_way).count() == 1


def test_a_complaint_needs_a_reason_it_can_take_and_words(family, under_way):
    answer = complain(signed_in(family), under_way, reason="low_rating", text="")

    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'data-field="reason"' in html and 'data-field="text"' in html
    assert not Complaint.objects.exists()


def test_a_visit_nobody_has_taken_yet_cannot_be_complained_of(family, elder):
    offered = request_for(elder, start=datetime.now(SHANGHAI), state=RequestState.OFFERED)

    answer = complain(signed_in(family), offered)

    assert answer.status_code == 409
    assert not Complaint.objects.exists()
