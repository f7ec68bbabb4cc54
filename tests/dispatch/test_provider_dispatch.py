"""派单给服务商: a whole job offered to a provider, which assigns one of its own workers."""

import pytest

from backend.core.models import Event
from dispatch.models import JobOffer, RequestState, ServiceRequest, ServiceType
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


@pytest.fixture
def meal_by_provider():
    ServiceType.objects.filter(code="meal").update(dispatch_mode="provider")


@pytest.fixture
def meal_point(district):
    provider = f.ProviderFactory(district=district, base_location=f.offset(f.HOME, east_m=200))
    admin = f.UserFactory(role="provider_admin")
    provider.admins.add(admin)
    return provider, admin


def create(operator, elder, capture):
    with capture(execute=True):
        response = api(operator).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": "meal"}, format="json"
        )
    return response.json()["id"]


def test_the_nearest_serving_provider_gets_the_whole_job_and_names_the_worker(
    meal_by_provider, meal_point, operator, elder, district, django_capture_on_commit_callbacks
):
    provider, admin = meal_point
    f.ProviderFactory(district=district, base_location=f.offset(f.HOME, east_m=2000))
    cook = f.WorkerFactory(provider=provider)
    sr_id = create(operator, elder, django_capture_on_commit_callbacks)

    [offer] = api(admin).get("/api/v1/offers/").json()["results"]
    accepted = api(admin).post(f"/api/v1/offers/{offer['id']}/accept/")
    before = api(cook.user).get(f"/api/v1/elders/{elder.pk}/").status_code
    named = api(admin).post(
        f"/api/v1/requests/{sr_id}/assign-worker/", {"worker": cook.pk}, format="json"
    )
    again = api(admin).post(
        f"/api/v1/requests/{sr_id}/assign-worker/", {"worker": cook.pk}, format="json"
    )
    arrived = api(cook.user).post(
        f"/api/v1/requests/{sr_id}/check-in/",
        {"location": {"type": "Point", "coordinates": list(f.HOME)}},
        format="json",
    )

    assert offer["distance_m"] == pytest.approx(200, abs=5)
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["assigned_provider"] == provider.pk
    assert accepted.json()["assigned_worker"] is None
    assert before == 404
    assert named.status_code == 200 and named.json()["assigned_worker"]["id"] == cook.pk
    assert again.status_code == 409
    assert arrived.status_code == 201
    assert Event.objects.filter(kind="offer.created", recipients__contains=[admin.pk]).exists()


def test_only_an_eligible_worker_of_the_same_provider_can_be_named(
    meal_by_provider, meal_point, operator, elder, district, django_capture_on_commit_callbacks
):
    provider, admin = meal_point
    stranger = f.WorkerFactory(provider=f.ProviderFactory(district=district, services=[]))

    no_health_cert = f.WorkerFactory(provider=provider, certificates=["first_aid"])
    sr_id = create(operator, elder, django_capture_on_commit_callbacks)
    api(admin).post(f"/api/v1/offers/{JobOffer.objects.get(request_id=sr_id).pk}/accept/")

    for worker in (stranger, no_health_cert):
        response = api(admin).post(
            f"/api/v1/requests/{sr_id}/assign-worker/", {"worker": worker.pk}, format="json"
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "worker_not_eligible"
    assert ServiceRequest.objects.get(pk=sr_id).assigned_worker is None


def test_another_providers_admin_can_neither_accept_nor_assign(
    meal_by_provider, meal_point, operator, elder, district, django_capture_on_commit_callbacks
):
    provider, admin = meal_point
    rival = f.ProviderFactory(district=district, base_location=f.offset(f.HOME, east_m=5000))
    rival_admin = f.UserFactory(role="provider_admin")
    rival.admins.add(rival_admin)
    sr_id = create(operator, elder, django_capture_on_commit_callbacks)
    offer = JobOffer.objects.get(request_id=sr_id)

    assert api(rival_admin).post(f"/api/v1/offers/{offer.pk}/accept/").status_code == 404
    api(admin).post(f"/api/v1/offers/{offer.pk}/accept/")
    assert (
        api(rival_admin)
        .post(f"/api/v1/requests/{sr_id}/assign-worker/", {"worker": 1}, format="json")
        .status_code
        == 404
    )
    assert api(rival_admin).get(f"/api/v1/requests/{sr_id}/").status_code == 404


def test_a_declined_provider_offer_moves_to_the_next_provider(
    meal_by_provider, meal_point, operator, elder, district, django_capture_on_commit_callbacks
):
    provider, admin = meal_point
    second = f.ProviderFactory(district=district, base_location=f.offset(f.HOME, east_m=900))
    sr_id = create(operator, elder, django_capture_on_commit_callbacks)
    first_offer = JobOffer.objects.get(request_id=sr_id)

    with django_capture_on_commit_callbacks(execute=True):
        api(admin).post(
            f"/api/v1/offers/{first_offer.pk}/decline/", {"reason": "kitchen closed"}, format="json"
        )

    offers = list(
        JobOffer.objects.filter(request_id=sr_id)
        .order_by("rank")
        .values_list("provider_id", "state")
    )
    assert offers == [(provider.pk, "declined"), (second.pk, "pending")]
    assert ServiceRequest.objects.get(pk=sr_id).state == RequestState.OFFERED
