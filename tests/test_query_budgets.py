"""Query budgets of the request path: intake (the request, then the matching task), accept,
check-in and the location update, each through the real API view with the real authentication
(a JWT Bearer token, as the apps send; staff tokens carry the second factor; the token version
and the throttles are counted in the Redis cache, not the database).

A budget is the count measured after the cuts of issue 11, written down per step in
docs/performance.md. A step over its budget fails with its SQL listed. The outermost transaction
shows here as SAVEPOINT / RELEASE SAVEPOINT (the test runs inside one); in production these are
the BEGIN and COMMIT round trips, so the counts are the same.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.contrib.gis.db.models.fields import get_srid_info
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from backend.accounts.models import Role
from backend.accounts.tokens import tokens_for
from dispatch import services, tasks
from dispatch.models import JobOffer, ServiceRequest, ServiceType
from providers.models import PositionTrace, WorkerPosition
from tests import factories as f

pytestmark = pytest.mark.django_db

BUDGETS = {
    "intake by an operator": 12,
    "intake by family": 12,
    "matching (request_match task), one offer": 18,
    "matching (request_match task), emergency, three offers": 22,
    "accept": 20,
    # The family's SMS: the contacts who opted in, then per contact (one here) their language
    # and their row in the notification log (a savepoint, the insert, its release).
    "check-in": 20,
    "location update": 2,
    # On a job: the trace row, and the work orders the worker is on the way to (the distance
    # pushed to the family, dispatch/en_route.py; one query whether there are any or not).
    "location update on a job": 4,
}


@contextmanager
def within_budget(step: str) -> Iterator[None]:
    """Fail if `step` runs more queries than its budget, listing every one of them."""
    budget = BUDGETS[step]
    with CaptureQueriesContext(connection) as ran:
        yield
    count = len(ran.captured_queries)
    print(f"query budget: {step}: {count} of {budget}")
    if count > budget:
        listing = "\n".join(f"{i:3d}. {q['sql']}" for i, q in enumerate(ran.captured_queries, 1))
        pytest.fail(f"{step}: {count} queries, over its budget of {budget}:\n{listing}")


@pytest.fixture(autouse=True)
def _warm():
    """What a server process reads once and keeps: GeoDjango's SRID details."""
    get_srid_info(4326, connection)


def bearer(user) -> APIClient:
    """The app's client: a JWT as the token endpoint issues it (staff: with the second factor)."""
    client = APIClient()
    access = tokens_for(user, second_factor=user.is_district_staff).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def position(east_m: float = 0) -> dict:
    return {
        "location": {"type": "Point", "coordinates": list(f.offset(f.HOME, east_m).coords)},
        "crs": "wgs84",
    }


@pytest.fixture
def workers(make_worker, district):
    """Three workers near the home, their provider with an admin (a recipient once assigned)."""
    provider = f.ProviderFactory(district=district)
    provider.admins.add(f.UserFactory(role=Role.PROVIDER_ADMIN))
    return [make_worker(east_m=100 * (i + 1), provider=provider) for i in range(3)]


def intake(user, elder, django_capture_on_commit_callbacks, step: str) -> ServiceRequest:
    client = bearer(user)
    with django_capture_on_commit_callbacks() as after_commit, within_budget(step):
        response = client.post(
            "/api/v1/requests/",
            {"elder": elder.pk, "service_type": "meal"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="intake-1",
        )
    assert response.status_code == 201, response.json()
    assert after_commit, "matching is enqueued after the commit"
    return ServiceRequest.objects.get(pk=response.json()["id"])


def test_intake_by_an_operator_then_matching(
    operator, family, elder, workers, django_capture_on_commit_callbacks
):
    sr = intake(operator, elder, django_capture_on_commit_callbacks, "intake by an operator")

    with within_budget("matching (request_match task), one offer"):
        tasks.request_match(sr.pk)

    assert JobOffer.objects.filter(request=sr).count() == 1


def test_intake_by_family(family, elder, workers, django_capture_on_commit_callbacks):
    sr = intake(family, elder, django_capture_on_commit_callbacks, "intake by family")

    assert sr.channel == "family"


def test_matching_an_emergency_offers_three_at_once(family, elder, workers):
    sr = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="emergency"),
        channel="operator",
        caller=None,
    )

    with within_budget("matching (request_match task), emergency, three offers"):
        tasks.request_match(sr.pk)

    assert JobOffer.objects.filter(request=sr).count() == 3


@pytest.fixture
def offered(family, elder, workers):
    """A meal offered to the nearest worker."""
    sr = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="meal"),
        channel="operator",
        caller=None,
    )
    services.request_match(request_id=sr.pk)
    return JobOffer.objects.get(request=sr)


def test_accept(offered):
    client = bearer(offered.worker.user)

    with within_budget("accept"):
        response = client.post(
            f"/api/v1/offers/{offered.pk}/accept/", HTTP_IDEMPOTENCY_KEY="accept-1"
        )

    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "assigned"


def test_check_in(offered, family):
    services.offer_accept(offer_id=offered.pk, user=offered.worker.user)
    client = bearer(offered.worker.user)

    with within_budget("check-in"):
        response = client.post(
            f"/api/v1/requests/{offered.request_id}/check-in/",
            position(east_m=30),
            format="json",
            HTTP_IDEMPOTENCY_KEY="check-in-1",
        )

    assert response.status_code == 201, response.json()


def test_location_update(workers):
    client = bearer(workers[0].user)

    with within_budget("location update"):
        response = client.post("/api/v1/workers/me/location/", position(), format="json")

    assert response.status_code == 202, response.json()


def test_location_update_on_a_job(offered):
    services.offer_accept(offer_id=offered.pk, user=offered.worker.user)
    client = bearer(offered.worker.user)
    WorkerPosition.objects.filter(worker=offered.worker).update(
        recorded_at=timezone.now() - timedelta(hours=1)
    )

    with within_budget("location update on a job"):
        response = client.post("/api/v1/workers/me/location/", position(), format="json")

    assert response.status_code == 202, response.json()
    assert response.json() == {"stored": True}
    assert PositionTrace.objects.filter(worker=offered.worker).count() == 1
