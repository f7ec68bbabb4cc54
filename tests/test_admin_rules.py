"""The admin keeps the rules: states are read-only there, and edits that matching depends on
go through the same services as the API (so the matching copy and the audit follow)."""

import pytest
from django.utils import timezone

from backend.core.models import Event
from dispatch.models import JobOffer, OfferState, ServiceRequest, Visit
from providers.models import Worker, WorkerPosition
from tests import factories as f
from tests.conftest import admin_login, api
from tests.dispatch.conftest import ON_THE_DOORSTEP, create

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(district):
    user = f.UserFactory(role="district_admin", district=district, is_staff=True, is_superuser=True)
    return admin_login(user)


def worker_form(worker, **changes):
    """The admin change form's fields as the page would post them."""
    data = {
        "user": worker.user_id,
        "provider": worker.provider_id,
        "full_name": worker.full_name,
        "phone": str(worker.phone),
        "gender": worker.gender,
        "languages": ",".join(worker.languages),
        "skills": ",".join(worker.skills),
        "capacity": worker.capacity,
        "certificates-TOTAL_FORMS": 0,
        "certificates-INITIAL_FORMS": 0,
        "certificates-MIN_NUM_FORMS": 0,
        "certificates-MAX_NUM_FORMS": 1000,
    }
    data.update(changes)
    return data


def test_a_skill_added_in_the_admin_reaches_matching(admin_client, make_worker):
    worker = make_worker(skills=["meal"])

    response = admin_client.post(
        f"/admin/providers/worker/{worker.pk}/change/", worker_form(worker, skills="meal,bathing")
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert WorkerPosition.objects.get(worker=worker).skills == ["meal", "bathing"]
    assert Event.objects.filter(kind="provider.worker_updated", data__worker=worker.pk).exists()


def test_capacity_below_held_jobs_is_a_form_error_in_the_admin(admin_client, make_worker):
    worker = make_worker(capacity=2)
    Worker.objects.filter(pk=worker.pk).update(active_jobs=2)

    response = admin_client.post(
        f"/admin/providers/worker/{worker.pk}/change/", worker_form(worker, capacity=1)
    )

    assert response.status_code == 200
    assert "capacity" in response.context["adminform"].form.errors
    assert Worker.objects.get(pk=worker.pk).capacity == 2


def test_a_worker_moved_to_another_provider_in_the_admin_is_matched_for_it(
    admin_client, make_worker, district
):
    worker = make_worker()
    other = f.ProviderFactory(district=district)

    admin_client.post(
        f"/admin/providers/worker/{worker.pk}/change/", worker_form(worker, provider=other.pk)
    )

    assert WorkerPosition.objects.get(worker=worker).provider_id == other.pk


def test_work_orders_offers_and_visits_cannot_be_changed_in_the_admin(
    admin_client, operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    sr = create(operator, elder, django_capture_on_commit_callbacks)
    offer = JobOffer.objects.get(request_id=sr)
    api(worker.user).post(f"/api/v1/offers/{offer.pk}/accept/")
    api(worker.user).post(f"/api/v1/requests/{sr}/check-in/", ON_THE_DOORSTEP, format="json")
    visit = Visit.objects.get(request_id=sr)

    pages = {
        f"/admin/dispatch/servicerequest/{sr}/change/": {"state": "closed", "notes": "x"},
        f"/admin/dispatch/joboffer/{offer.pk}/change/": {"state": OfferState.DECLINED},
        f"/admin/dispatch/visit/{visit.pk}/change/": {"state": "completed"},
    }
    for url, data in pages.items():
        assert admin_client.get(url).status_code == 200  # still viewable
        admin_client.post(url, data)

    assert ServiceRequest.objects.get(pk=sr).state == "on_site"
    assert JobOffer.objects.get(pk=offer.pk).state == OfferState.ACCEPTED
    assert Visit.objects.get(pk=visit.pk).state == "on_site"
    assert Visit.objects.get(pk=visit.pk).checked_in_at <= timezone.now()
    for model in ("servicerequest", "joboffer", "visit"):
        assert admin_client.get(f"/admin/dispatch/{model}/add/").status_code == 403
