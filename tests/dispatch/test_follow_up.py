from decimal import Decimal

import pytest

from dispatch.models import Complaint, JobOffer, ServiceRequest
from providers.models import CreditEvent, Worker
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


@pytest.fixture
def visited(operator, elder, family, make_worker, django_capture_on_commit_callbacks):
    """A completed visit by a worker, with a family account for the elder."""
    worker = make_worker(east_m=30)
    with django_capture_on_commit_callbacks(execute=True):
        sr = (
            api(operator)
            .post(
                "/api/v1/requests/", {"elder": elder.pk, "service_type": "cleaning"}, format="json"
            )
            .json()["id"]
        )
    client = api(worker.user)
    client.post(f"/api/v1/offers/{JobOffer.objects.get(request_id=sr).pk}/accept/")
    client.post(
        f"/api/v1/requests/{sr}/check-in/",
        {"location": {"type": "Point", "coordinates": list(f.HOME)}},
        format="json",
    )
    client.post(
        f"/api/v1/requests/{sr}/check-out/",
        {"location": {"type": "Point", "coordinates": list(f.HOME)}},
        format="json",
    )
    return sr, worker


def test_a_low_rating_opens_a_complaint_that_an_upheld_decision_puts_on_the_record(
    visited, family, district
):
    sr, worker = visited
    admin = f.UserFactory(role="district_admin", district=district)

    rated = api(family).post(
        f"/api/v1/requests/{sr}/feedback/",
        {"rating": 1, "comment": "left after 10 minutes"},
        format="json",
    )
    queue = api(admin).get("/api/v1/complaints/?state=open").json()["results"]
    decided = api(admin).post(
        f"/api/v1/complaints/{queue[0]['id']}/decide/",
        {"uphold": True, "note": "visit record shows 11 minutes"},
        format="json",
    )
    again = api(admin).post(
        f"/api/v1/complaints/{queue[0]['id']}/decide/",
        {"uphold": False, "note": "x"},
        format="json",
    )

    assert rated.status_code == 201 and rated.json()["complaint"] == queue[0]["id"]
    assert ServiceRequest.objects.get(pk=sr).state == "closed"
    assert decided.json()["state"] == "upheld"
    assert again.status_code == 409
    kinds = set(CreditEvent.objects.filter(worker=worker).values_list("kind", flat=True))
    assert kinds == {"verified_visit", "upheld_complaint"}
    assert Worker.objects.get(pk=worker.pk).rating == Decimal("1.00")


def test_a_top_rating_is_praise_and_a_dismissed_complaint_costs_nothing(visited, family, district):
    sr, worker = visited

    api(family).post(f"/api/v1/requests/{sr}/feedback/", {"rating": 5}, format="json")
    twice = api(family).post(f"/api/v1/requests/{sr}/feedback/", {"rating": 1}, format="json")

    assert twice.status_code == 409
    assert not Complaint.objects.exists()
    assert CreditEvent.objects.filter(worker=worker, kind="praise").count() == 1


def test_feedback_only_after_the_visit_and_only_from_the_elders_family(
    operator, elder, district, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sr = (
            api(operator)
            .post("/api/v1/requests/", {"elder": elder.pk, "service_type": "meal"}, format="json")
            .json()["id"]
        )
    stranger = f.UserFactory(role="family")

    early = api(operator).post(f"/api/v1/requests/{sr}/feedback/", {"rating": 4}, format="json")
    other = api(stranger).post(f"/api/v1/requests/{sr}/feedback/", {"rating": 4}, format="json")
    bad = api(operator).post(f"/api/v1/requests/{sr}/feedback/", {"rating": 9}, format="json")

    assert early.status_code == 409
    assert other.status_code == 404
    assert bad.status_code == 400 and "rating" in bad.json()["error"]["fields"]
