"""Visits as electronic visit verification: price snapshot, geofence exceptions, welfare
checks."""

from decimal import Decimal

import pytest

from dispatch.models import JobOffer, OperatorAlert, Visit
from providers.models import ProviderService
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


def assigned(operator, elder, worker, capture, service="meal"):
    with capture(execute=True):
        sr = (
            api(operator)
            .post("/api/v1/requests/", {"elder": elder.pk, "service_type": service}, format="json")
            .json()["id"]
        )
    api(worker.user).post(f"/api/v1/offers/{JobOffer.objects.get(request_id=sr).pk}/accept/")
    return sr


def at(point, **extra):
    return {"location": {"type": "Point", "coordinates": list(point.coords)}, **extra}


def test_the_visit_keeps_the_price_and_the_subsidy_share_at_check_in(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    ProviderService.objects.filter(provider=worker.provider, service_code="meal").update(
        price=Decimal("15.00"), unit="meal", subsidised=True
    )
    sr = assigned(operator, elder, worker, django_capture_on_commit_callbacks)
    client = api(worker.user)
    client.post(f"/api/v1/requests/{sr}/check-in/", at(f.offset(f.HOME, east_m=10)), format="json")
    ProviderService.objects.filter(provider=worker.provider).update(price=Decimal("99.00"))

    out = client.post(f"/api/v1/requests/{sr}/check-out/").json()

    assert (out["price"], out["price_unit"], out["subsidy_share"]) == ("15.00", "meal", "0.50")
    visit = Visit.objects.get(request_id=sr)
    assert (visit.worker_id, visit.elder_id, visit.service_type.code) == (
        worker.pk,
        elder.pk,
        "meal",
    )
    assert visit.checked_in_at < visit.checked_out_at


def test_outside_the_geofence_with_a_reason_is_recorded_for_a_supervisor(
    operator, elder, district, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    supervisor = f.UserFactory(role="supervisor", district=district)
    sr = assigned(operator, elder, worker, django_capture_on_commit_callbacks)
    away = f.offset(f.HOME, north_m=450)

    refused = api(worker.user).post(f"/api/v1/requests/{sr}/check-in/", at(away), format="json")
    recorded = api(worker.user).post(
        f"/api/v1/requests/{sr}/check-in/",
        at(away, exception_reason="elder_not_at_home"),
        format="json",
    )
    queue = api(supervisor).get("/api/v1/visits/exceptions/?state=pending").json()["results"]
    by_operator = api(operator).post(
        f"/api/v1/visits/{queue[0]['id']}/exception/",
        {"approve": True, "resolution": "other"},
        format="json",
    )
    mismatched = api(supervisor).post(
        f"/api/v1/visits/{queue[0]['id']}/exception/",
        {"approve": True, "resolution": "visit_not_verified"},
        format="json",
    )
    decided = api(supervisor).post(
        f"/api/v1/visits/{queue[0]['id']}/exception/",
        {
            "approve": True,
            "resolution": "met_elsewhere",
            "note": "daughter confirmed she was at the clinic",
        },
        format="json",
    )

    assert refused.status_code == 422
    assert "elder_not_at_home" in refused.json()["error"]["exception_reasons"]
    assert recorded.status_code == 201
    assert queue[0]["check_in_distance_m"] == pytest.approx(450, abs=10)
    assert by_operator.status_code == 403
    assert mismatched.status_code == 422
    assert mismatched.json()["error"]["code"] == "resolution_not_allowed"
    body = decided.json()
    assert (body["exception_state"], body["exception_resolution"]) == ("approved", "met_elsewhere")
    assert body["exception_decided_by"] == supervisor.username
    assert body["exception_note"] == "daughter confirmed she was at the clinic"
    assert api(supervisor).get("/api/v1/visits/exceptions/?state=pending").json()["results"] == []


def test_a_welfare_check_must_say_what_it_found_and_no_answer_alerts_operators(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30, skills=["welfare_check"])
    sr = assigned(
        operator, elder, worker, django_capture_on_commit_callbacks, service="welfare_check"
    )
    client = api(worker.user)
    client.post(f"/api/v1/requests/{sr}/check-in/", at(f.offset(f.HOME)), format="json")

    silent = client.post(f"/api/v1/requests/{sr}/check-out/")
    done = client.post(
        f"/api/v1/requests/{sr}/check-out/", {"welfare_outcome": "no_answer"}, format="json"
    )

    assert silent.status_code == 422
    assert silent.json()["error"]["code"] == "welfare_outcome_required"
    assert done.json()["welfare_outcome"] == "no_answer"
    assert OperatorAlert.objects.get(request_id=sr).kind == "welfare_no_answer"
