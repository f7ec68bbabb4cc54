"""Every emergency ends with a person who answers for it and an outcome code: in the one
function that changes states, in the API, in the sweeper, and in the database itself."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.core.errors import RuleViolation
from dispatch import services
from dispatch.models import JobOffer, OperatorAlert, RequestState, ServiceRequest, ServiceType
from dispatch.tasks import sweep_deadlines
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db

ON_THE_DOORSTEP = {"location": {"type": "Point", "coordinates": list(f.HOME)}}


def visited(operator, elder, worker, capture, service) -> int:
    """A request of `service` that `worker` took, checked in to and checked out of."""
    with capture(execute=True):
        sr = api(operator).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": service}, format="json"
        )
    sr = sr.json()["id"]
    client = api(worker.user)
    client.post(f"/api/v1/offers/{JobOffer.objects.get(worker=worker).pk}/accept/")
    client.post(f"/api/v1/requests/{sr}/check-in/", ON_THE_DOORSTEP, format="json")
    out = client.post(f"/api/v1/requests/{sr}/check-out/", ON_THE_DOORSTEP, format="json")
    assert out.status_code == 200, out.json()
    return sr


@pytest.fixture
def completed_emergency(operator, elder, make_worker, django_capture_on_commit_callbacks):
    worker = make_worker(east_m=100)
    return visited(operator, elder, worker, django_capture_on_commit_callbacks, "emergency")


def test_the_end_of_an_emergency_visit_asks_a_named_operator_for_its_outcome(
    completed_emergency,
):
    alert = OperatorAlert.objects.get(request_id=completed_emergency, kind="emergency_outcome")
    assert alert.acknowledged_by is None


def test_an_emergency_closes_only_with_an_outcome_and_the_closer_answers_for_it(
    operator, completed_emergency
):
    bare = api(operator).post(f"/api/v1/requests/{completed_emergency}/close/")
    closed = api(operator).post(
        f"/api/v1/requests/{completed_emergency}/close/",
        {"outcome": "ambulance", "note": "120 took her to the district hospital"},
        format="json",
    )

    assert bare.status_code == 422
    assert bare.json()["error"]["code"] == "emergency_outcome_required"
    assert "outcome" in bare.json()["error"]["fields"]
    assert closed.status_code == 200, closed.json()
    body = closed.json()
    assert (body["state"], body["outcome"], body["responsible"]) == (
        "closed",
        "ambulance",
        operator.username,
    )
    assert body["outcome_note"] == "120 took her to the district hospital"


def test_time_and_feedback_never_close_an_emergency(
    family, completed_emergency, settings, django_capture_on_commit_callbacks
):
    api(family).post(
        f"/api/v1/requests/{completed_emergency}/feedback/", {"rating": 5}, format="json"
    )
    ServiceRequest.objects.filter(pk=completed_emergency).update(
        state_changed_at=timezone.now() - timedelta(hours=settings.ANXIN["CLOSE_AFTER_H"] + 1)
    )

    swept = sweep_deadlines()

    assert swept["requests_closed"] == 0
    assert ServiceRequest.objects.get(pk=completed_emergency).state == RequestState.COMPLETED


def test_routine_work_still_closes_by_itself(
    operator, elder, make_worker, settings, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=100)
    sr = visited(operator, elder, worker, django_capture_on_commit_callbacks, "meal")
    ServiceRequest.objects.filter(pk=sr).update(
        state_changed_at=timezone.now() - timedelta(hours=settings.ANXIN["CLOSE_AFTER_H"] + 1)
    )

    assert sweep_deadlines()["requests_closed"] == 1
    closed = ServiceRequest.objects.get(pk=sr)
    assert (closed.state, closed.outcome, closed.responsible) == ("closed", "served", None)


def test_cancelling_an_emergency_needs_the_reason_it_ended(
    family, elder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sr = api(family).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": "emergency"}, format="json"
        )
    sr = sr.json()["id"]

    bare = api(family).post(
        f"/api/v1/requests/{sr}/cancel/", {"reason": "pressed by mistake"}, format="json"
    )
    done = api(family).post(
        f"/api/v1/requests/{sr}/cancel/",
        {"reason": "pressed by mistake", "outcome": "false_alarm"},
        format="json",
    )

    assert bare.status_code == 422 and bare.json()["error"]["code"] == "emergency_outcome_required"
    assert done.status_code == 200, done.json()
    assert (done.json()["outcome"], done.json()["responsible"]) == ("false_alarm", family.username)


def test_the_system_cannot_end_an_emergency(operator, elder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sr = api(operator).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": "emergency"}, format="json"
        )
    sr = sr.json()["id"]
    assert ServiceRequest.objects.get(pk=sr).state == RequestState.ESCALATED

    with pytest.raises(RuleViolation) as refused:
        services.request_fail(request_id=sr, actor=None, outcome="no_worker_available")

    assert refused.value.error_code == "emergency_outcome_required"
    failed = api(operator).post(
        f"/api/v1/requests/{sr}/fail/", {"outcome": "ambulance"}, format="json"
    )
    assert failed.status_code == 200 and failed.json()["responsible"] == operator.username


def test_an_outcome_must_suit_the_way_the_work_ended(operator, elder):
    sr = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="meal"),
        channel="operator",
        caller=operator,
    )
    ServiceRequest.objects.filter(pk=sr.pk).update(state=RequestState.COMPLETED)

    with pytest.raises(RuleViolation) as refused:
        services.request_close(request_id=sr.pk, actor=operator, outcome="false_alarm")

    assert refused.value.error_code == "outcome_not_allowed"
    response = api(operator).post(
        f"/api/v1/requests/{sr.pk}/close/", {"outcome": "teleported"}, format="json"
    )
    assert response.status_code == 400 and "outcome" in response.json()["error"]["fields"]


def test_the_database_refuses_an_emergency_ended_by_nobody(completed_emergency):
    with (
        pytest.raises(IntegrityError, match="emergency_ends_with_a_person_and_outcome"),
        transaction.atomic(),
    ):
        ServiceRequest.objects.filter(pk=completed_emergency).update(
            state=RequestState.CLOSED, outcome="served"
        )
