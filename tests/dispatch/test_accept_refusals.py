"""Accepts that must be refused with the right answer, leaving everything as it was, and a
worker's capacity that cannot be set below the jobs they hold."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import JobOffer, OfferState, RequestState, ServiceRequest
from providers.models import Worker
from tests.conftest import api

pytestmark = pytest.mark.django_db


def offered(operator, elder, capture, service="meal"):
    with capture(execute=True):
        sr = (
            api(operator)
            .post("/api/v1/requests/", {"elder": elder.pk, "service_type": service}, format="json")
            .json()["id"]
        )
    return ServiceRequest.objects.get(pk=sr), JobOffer.objects.filter(request_id=sr).get()


def test_an_accept_by_a_worker_at_capacity_is_409_worker_at_capacity_and_the_offer_stays_open(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    sr, offer = offered(operator, elder, django_capture_on_commit_callbacks)
    Worker.objects.filter(pk=worker.pk).update(active_jobs=worker.capacity)  # took others since

    response = api(worker.user).post(f"/api/v1/offers/{offer.pk}/accept/")

    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["current_state"]) == ("worker_at_capacity", "pending")
    offer.refresh_from_db()
    sr.refresh_from_db()
    assert (offer.state, sr.state) == (OfferState.PENDING, RequestState.OFFERED)


def test_an_offer_past_its_deadline_cannot_be_accepted_before_the_sweeper_runs(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    second = make_worker(east_m=60)
    sr, offer = offered(operator, elder, django_capture_on_commit_callbacks)
    JobOffer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        response = api(worker.user).post(f"/api/v1/offers/{offer.pk}/accept/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "offer_expired"
    offer.refresh_from_db()
    assert offer.state == OfferState.EXPIRED
    # The refusal moves the ladder on as the expiry would have: the next worker has it now.
    assert JobOffer.objects.get(request=sr, state=OfferState.PENDING).worker_id == second.pk
    assert Worker.objects.get(pk=worker.pk).active_jobs == 0


def test_capacity_below_the_jobs_held_is_422_naming_the_field(
    operator, elder, make_worker, django_capture_on_commit_callbacks, district
):
    from tests import factories as f

    worker = make_worker(east_m=30, capacity=2)
    admin = f.UserFactory(role="provider_admin")
    worker.provider.admins.add(admin)
    Worker.objects.filter(pk=worker.pk).update(active_jobs=2)

    response = api(admin).patch(f"/api/v1/workers/{worker.pk}/", {"capacity": 1}, format="json")

    assert response.status_code == 422
    assert "capacity" in response.json()["error"]["fields"]
    assert Worker.objects.get(pk=worker.pk).capacity == 2


def test_a_late_accept_under_an_idempotency_key_keeps_the_expiry_and_is_refused_again(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    sr, offer = offered(operator, elder, django_capture_on_commit_callbacks)
    JobOffer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client = api(worker.user)

    first = client.post(f"/api/v1/offers/{offer.pk}/accept/", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post(f"/api/v1/offers/{offer.pk}/accept/", HTTP_IDEMPOTENCY_KEY="k1")

    assert first.status_code == 409 and first.json()["error"]["code"] == "offer_expired"
    assert again.status_code == 409 and again.json()["error"]["code"] == "offer_state_conflict"
    assert JobOffer.objects.get(pk=offer.pk).state == OfferState.EXPIRED
