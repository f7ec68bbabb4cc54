"""The phone's clock read against the server's with `X-Client-Sent-At` (dispatch/client_clock.py):
the offline gap is measured on the phone's own clock (sent_at - client_at), so a phone minutes
fast or slow is neither refused nor flagged; its skew (server_now - sent_at) moves the phone's
time onto the server's clock before it is recorded, and the raw time is kept in the event."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.models import Event
from dispatch.models import JobOffer, Visit
from tests import factories as f
from tests.conftest import api

from .conftest import create

pytestmark = pytest.mark.django_db

DOOR = f.offset(f.HOME, east_m=10)


def at(point, **extra):
    return {"location": {"type": "Point", "coordinates": list(point.coords)}, **extra}


@pytest.fixture
def job(operator, elder, make_worker, django_capture_on_commit_callbacks):
    worker = make_worker(east_m=30)
    sr = create(operator, elder, django_capture_on_commit_callbacks)
    offer = JobOffer.objects.get(request_id=sr, worker=worker)
    assert api(worker.user).post(f"/api/v1/offers/{offer.pk}/accept/").status_code == 200
    return sr, worker


def post(worker, sr, action, *, client_at, sent_at, **extra):
    return api(worker.user).post(
        f"/api/v1/requests/{sr}/{action}/",
        at(DOOR, client_at=client_at.isoformat(), **extra),
        format="json",
        HTTP_X_CLIENT_SENT_AT=sent_at.isoformat(),
    )


def event(sr, kind):
    return Event.objects.get(subject_type="request", subject_id=sr, kind=kind).data


def test_a_phone_minutes_fast_checks_in_online_and_its_time_is_corrected(job, settings):
    sr, worker = job
    fast = timedelta(seconds=settings.ANXIN["CLIENT_TIME_AHEAD_S"] + 300)
    phone_now = timezone.now() + fast

    response = post(worker, sr, "check-in", client_at=phone_now, sent_at=phone_now)

    assert response.status_code == 201, response.content
    visit = Visit.objects.get(request_id=sr)
    assert visit.exception_state == "", "sent at once: no offline gap, whatever the clock"
    assert abs(visit.client_checked_in_at - visit.checked_in_at) < timedelta(seconds=5)
    data = event(sr, "request.on_site")
    assert data["client_at"] == phone_now.isoformat()  # the raw time, as the phone read it
    assert data["client_skew_s"] == pytest.approx(-fast.total_seconds(), abs=5)
    assert data["client_gap_s"] == 0 and data["late_sync"] is False


def test_a_phone_minutes_slow_sent_at_once_is_not_flagged(job, settings):
    sr, worker = job
    slow = timedelta(minutes=settings.ANXIN["CLIENT_TIME_GAP_M"] + 5)
    phone_now = timezone.now() - slow

    assert post(worker, sr, "check-in", client_at=phone_now, sent_at=phone_now).status_code == 201
    checked_out = post(worker, sr, "check-out", client_at=phone_now, sent_at=phone_now)

    assert checked_out.status_code == 200, checked_out.content
    visit = Visit.objects.get(request_id=sr)
    assert visit.exception_state == "" and visit.verified
    assert abs(visit.client_checked_out_at - visit.checked_out_at) < timedelta(seconds=5)


def test_a_long_offline_gap_on_a_wrong_clock_is_late_sync_and_dated_on_the_servers_clock(
    job, settings
):
    sr, worker = job
    skew = timedelta(minutes=7)  # the phone is 7 minutes fast
    kept = timedelta(minutes=settings.ANXIN["CLIENT_TIME_GAP_M"] + 3)
    sent_at = timezone.now() + skew
    client_at = sent_at - kept

    response = post(worker, sr, "check-in", client_at=client_at, sent_at=sent_at)

    assert response.status_code == 201, response.content
    visit = Visit.objects.get(request_id=sr)
    assert (visit.exception_reason, visit.exception_state) == ("late_sync", "pending")
    expected = visit.checked_in_at - kept  # when it happened, on the server's clock
    assert abs(visit.client_checked_in_at - expected) < timedelta(seconds=5)
    data = event(sr, "request.on_site")
    assert data["client_gap_s"] == pytest.approx(kept.total_seconds(), abs=0.1)
    assert data["late_sync"] is True
    assert data["client_sent_at"] == sent_at.isoformat()


def test_a_phone_time_after_its_time_of_sending_is_a_400_naming_client_at(job):
    sr, worker = job
    sent_at = timezone.now()

    response = post(
        worker, sr, "check-in", client_at=sent_at + timedelta(seconds=1), sent_at=sent_at
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["client_at"]
    assert not Visit.objects.filter(request_id=sr).exists()


def test_a_malformed_time_of_sending_is_a_400_naming_the_header(job):
    sr, worker = job

    response = api(worker.user).post(
        f"/api/v1/requests/{sr}/check-in/",
        at(DOOR, client_at=timezone.now().isoformat()),
        format="json",
        HTTP_X_CLIENT_SENT_AT="yesterday",
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["X-Client-Sent-At"]


def test_the_same_key_sent_again_later_is_the_same_body_and_counted_once(job):
    sr, worker = job
    client = api(worker.user)
    client_at = timezone.now() - timedelta(minutes=1)
    body = at(DOOR, client_at=client_at.isoformat())
    url = f"/api/v1/requests/{sr}/check-in/"

    first = client.post(
        url,
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-sent-at",
        HTTP_X_CLIENT_SENT_AT=timezone.now().isoformat(),
    )
    again = client.post(
        url,
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-sent-at",
        HTTP_X_CLIENT_SENT_AT=(timezone.now() + timedelta(seconds=30)).isoformat(),
    )

    assert first.status_code == again.status_code == 201, again.content
    assert again["Idempotent-Replayed"] == "true"
    assert Visit.objects.filter(request_id=sr).count() == 1
