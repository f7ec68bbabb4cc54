from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import JobOffer, OfferState, RequestState, ServiceRequest
from dispatch.tasks import sweep_deadlines
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


def create(user, elder, capture, service="meal"):
    with capture(execute=True):
        response = api(user).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": service}, format="json"
        )
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_second_open_request_of_the_same_service_is_flagged(
    operator, elder, django_capture_on_commit_callbacks
):
    first = create(operator, elder, django_capture_on_commit_callbacks)
    second = create(operator, elder, django_capture_on_commit_callbacks)
    other = create(operator, elder, django_capture_on_commit_callbacks, service="cleaning")

    assert first["possible_duplicate_of"] is None
    assert second["possible_duplicate_of"] == first["id"]
    assert other["possible_duplicate_of"] is None


def test_the_worker_sets_out_then_checks_in(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=40)
    sr = create(operator, elder, django_capture_on_commit_callbacks)["id"]
    client = api(worker.user)
    client.post(f"/api/v1/offers/{worker.offers.get().pk}/accept/")

    set_out = client.post(f"/api/v1/requests/{sr}/set-out/")
    again = client.post(f"/api/v1/requests/{sr}/set-out/")
    arrived = client.post(
        f"/api/v1/requests/{sr}/check-in/",
        {"location": {"type": "Point", "coordinates": list(f.HOME)}},
        format="json",
    )

    assert set_out.json()["state"] == "en_route"
    assert again.status_code == 409 and again.json()["error"]["current_state"] == "en_route"
    assert arrived.status_code == 201


def test_an_operator_overrides_matching_with_a_named_worker_and_a_reason(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    offered = make_worker(east_m=40)
    regular = make_worker(east_m=3000, shift_state="off")  # not matchable, but the elder's usual
    sr = create(operator, elder, django_capture_on_commit_callbacks)["id"]

    response = api(operator).post(
        f"/api/v1/requests/{sr}/assign/",
        {"worker": regular.pk, "reason": "she only opens the door to 张"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["assigned_worker"]["id"] == regular.pk
    assert JobOffer.objects.get(worker=offered).state == OfferState.WITHDRAWN
    assert api(regular.user).get(f"/api/v1/elders/{elder.pk}/").status_code == 200
    assert (
        api(offered.user)
        .post(
            f"/api/v1/requests/{sr}/assign/", {"worker": offered.pk, "reason": "me"}, format="json"
        )
        .status_code
        == 403
    )


def test_an_escalated_request_fails_with_an_outcome(
    operator, elder, django_capture_on_commit_callbacks
):
    sr = create(operator, elder, django_capture_on_commit_callbacks)  # nobody near: escalated
    assert ServiceRequest.objects.get(pk=sr["id"]).state == RequestState.ESCALATED

    failed = api(operator).post(
        f"/api/v1/requests/{sr['id']}/fail/", {"outcome": "no_worker_available"}, format="json"
    )

    assert failed.json()["state"] == "failed"
    assert failed.json()["outcome"] == "no_worker_available"


def test_completed_requests_close_by_hand_or_after_the_set_time(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=40)
    ids = []
    for _ in range(2):
        sr = create(operator, elder, django_capture_on_commit_callbacks, service="cleaning")
        ids.append(sr["id"])
        offer = JobOffer.objects.get(request_id=sr["id"], state="pending")
        client = api(offer.worker.user)
        client.post(f"/api/v1/offers/{offer.pk}/accept/")
        client.post(
            f"/api/v1/requests/{sr['id']}/check-in/",
            {"location": {"type": "Point", "coordinates": list(f.HOME)}},
            format="json",
        )
        client.post(
            f"/api/v1/requests/{sr['id']}/check-out/",
            {"location": {"type": "Point", "coordinates": list(f.HOME)}},
            format="json",
        )
    assert worker.pk

    closed = api(operator).post(f"/api/v1/requests/{ids[0]}/close/")
    ServiceRequest.objects.filter(pk=ids[1]).update(
        state_changed_at=timezone.now() - timedelta(hours=73)
    )
    swept = sweep_deadlines()

    assert closed.json()["state"] == "closed"
    assert swept["requests_closed"] == 1
    assert ServiceRequest.objects.get(pk=ids[1]).state == RequestState.CLOSED
