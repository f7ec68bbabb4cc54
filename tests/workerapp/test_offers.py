"""The worker app's home: on and off shift, pending offers shown as the API shows them to a
worker (service, time, distance; no name, no address), accepted and declined through the API's
own services, and today's jobs with the elder's name and address once accepted."""

import re
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dispatch.models import JobOffer, OfferState, ServiceRequest
from providers.models import ShiftChange
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db

NAME, ADDRESS = "王秀英", "朝阳区幸福路8号3单元"


@pytest.fixture
def named_elder(elder):
    elder.full_name, elder.address = NAME, ADDRESS
    elder.save(update_fields=["full_name", "address"])
    return elder


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def order(operator, elder, capture, service: str = "meal") -> int:
    """A request for the elder, through the API: matching offers it to the workers nearby (a
    meal to the nearest, an emergency to several at once)."""
    with capture(execute=True):
        response = api(operator).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": service}, format="json"
        )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_shift_goes_on_and_off_through_the_shift_service(make_worker):
    worker = make_worker()
    client = signed_in(worker.user)

    off = client.post("/worker/shift/", {"state": "off"})
    worker.refresh_from_db()
    assert off.status_code == 302 and worker.shift_state == "off"
    on = client.post("/worker/shift/", {"state": "on"})
    worker.refresh_from_db()

    assert on.status_code == 302 and worker.shift_state == "on"
    assert list(
        ShiftChange.objects.filter(worker=worker).order_by("pk").values_list("state", flat=True)
    ) == ["off", "on"]


def test_a_shift_state_that_does_not_exist_is_a_400_naming_the_field(make_worker):
    worker = make_worker()

    response = signed_in(worker.user).post("/worker/shift/", {"state": "asleep"})

    assert response.status_code == 400
    assert "state:" in response.content.decode()


def test_an_offer_shows_service_time_distance_and_countdown_but_no_name_or_address(
    english, operator, named_elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=60)
    sr = order(operator, named_elder, django_capture_on_commit_callbacks)
    offer = JobOffer.objects.get(request_id=sr, worker=worker)

    html = signed_in(worker.user).get("/worker/").content.decode()

    assert f'id="offer-{offer.pk}"' in html
    assert 'data-clock="countdown"' in html
    clock = re.search(r'<time data-clock="countdown" datetime="([^"]+)"', html)
    assert clock is not None
    assert datetime.fromisoformat(clock.group(1)) == offer.expires_at
    assert " m<" in html or " km<" in html
    assert NAME not in html and ADDRESS not in html


def test_accept_assigns_the_job_and_then_shows_the_elder(
    operator, named_elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=60)
    sr = order(operator, named_elder, django_capture_on_commit_callbacks)
    offer = JobOffer.objects.get(request_id=sr, worker=worker)
    client = signed_in(worker.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/worker/offers/{offer.pk}/accept/")

    assert response.status_code == 302
    request = ServiceRequest.objects.get(pk=sr)
    assert request.state == "assigned" and request.assigned_worker_id == worker.pk
    html = client.get("/worker/").content.decode()
    assert f'id="job-{sr}"' in html
    assert NAME in html and ADDRESS in html
    assert f'id="offer-{offer.pk}"' not in html


def test_a_second_accept_of_a_taken_job_is_a_409_with_the_reason(
    operator, named_elder, make_worker, english, django_capture_on_commit_callbacks
):
    first, second = make_worker(east_m=60), make_worker(east_m=80)
    sr = order(operator, named_elder, django_capture_on_commit_callbacks, "emergency")
    offers = {o.worker_id: o for o in JobOffer.objects.filter(request_id=sr)}
    assert {first.pk, second.pk} <= set(offers), "both workers are offered the meal"
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            signed_in(first.user).post(f"/worker/offers/{offers[first.pk].pk}/accept/").status_code
            == 302
        )

    response = signed_in(second.user).post(f"/worker/offers/{offers[second.pk].pk}/accept/")

    assert response.status_code == 409
    html = response.content.decode()
    assert 'class="notice refused"' in html
    assert "This offer is withdrawn" in html
    assert ServiceRequest.objects.get(pk=sr).assigned_worker_id == first.pk
    assert NAME not in html and ADDRESS not in html


def test_another_workers_offer_is_not_found(
    operator, named_elder, make_worker, district, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=60)
    sr = order(operator, named_elder, django_capture_on_commit_callbacks)
    offer = JobOffer.objects.get(request_id=sr, worker=worker)
    stranger = f.WorkerFactory(provider=f.ProviderFactory(district=district))
    client = signed_in(stranger.user)

    accept = client.post(f"/worker/offers/{offer.pk}/accept/")
    decline = client.post(f"/worker/offers/{offer.pk}/decline/", {"reason": "too_far"})

    assert accept.status_code == 404 and decline.status_code == 404
    offer.refresh_from_db()
    assert offer.state == OfferState.PENDING
    assert NAME not in accept.content.decode() + decline.content.decode()


def test_decline_keeps_the_reason_and_the_offer_leaves_the_list(
    operator, named_elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=60)
    sr = order(operator, named_elder, django_capture_on_commit_callbacks)
    offer = JobOffer.objects.get(request_id=sr, worker=worker)
    client = signed_in(worker.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/worker/offers/{offer.pk}/decline/", {"reason": "too_far"})

    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.state == OfferState.DECLINED and offer.decline_reason == "too_far"
    assert f'id="offer-{offer.pk}"' not in client.get("/worker/").content.decode()


def test_a_decline_without_a_reason_is_a_400_naming_the_field(
    operator, named_elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=60)
    sr = order(operator, named_elder, django_capture_on_commit_callbacks)
    offer = JobOffer.objects.get(request_id=sr, worker=worker)

    response = signed_in(worker.user).post(f"/worker/offers/{offer.pk}/decline/", {})

    assert response.status_code == 400
    assert "reason:" in response.content.decode()
    offer.refresh_from_db()
    assert offer.state == OfferState.PENDING


def test_an_accept_after_the_deadline_is_a_409_and_the_offer_stays_expired(
    operator, named_elder, make_worker, english, django_capture_on_commit_callbacks
):
    """The service expires a late offer and moves the ladder on as it refuses: that change is
    kept (no transaction of the page's undoes it)."""
    worker = make_worker(east_m=60)
    sr = order(operator, named_elder, django_capture_on_commit_callbacks)
    offer = JobOffer.objects.get(request_id=sr, worker=worker)
    JobOffer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(worker.user).post(f"/worker/offers/{offer.pk}/accept/")

    assert response.status_code == 409
    assert "This offer expired" in response.content.decode()
    offer.refresh_from_db()
    assert offer.state == OfferState.EXPIRED
    assert ServiceRequest.objects.get(pk=sr).assigned_worker_id is None


def test_todays_jobs_leave_out_ended_jobs_of_other_days_but_keep_open_ones(
    operator, named_elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=60, capacity=2)
    jobs = []
    for _ in range(2):
        sr = order(operator, named_elder, django_capture_on_commit_callbacks)
        offer = JobOffer.objects.get(request_id=sr, worker=worker)
        with django_capture_on_commit_callbacks(execute=True):
            signed_in(worker.user).post(f"/worker/offers/{offer.pk}/accept/")
        jobs.append(sr)
    ended, still_open = jobs
    two_days_ago = timezone.now() - timedelta(days=2)
    window = {"window_start": two_days_ago, "window_end": two_days_ago + timedelta(hours=1)}
    ServiceRequest.objects.filter(pk=ended).update(state="closed", **window)
    ServiceRequest.objects.filter(pk=still_open).update(**window)

    html = signed_in(worker.user).get("/worker/").content.decode()

    assert f'id="job-{ended}"' not in html
    assert f'id="job-{still_open}"' in html


def test_a_worker_account_without_a_worker_record_is_not_found():
    user = f.UserFactory(role="worker")

    assert signed_in(user).get("/worker/").status_code == 404
