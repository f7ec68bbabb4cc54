"""Visits as electronic visit verification: price snapshot, geofence exceptions, welfare
checks."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.core.geo import wgs84_to_gcj02
from backend.core.models import Event
from dispatch.models import JobOffer, OperatorAlert, ServiceRequest, Visit
from providers.models import CreditEvent, ProviderService
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

    out = client.post(
        f"/api/v1/requests/{sr}/check-out/", at(f.offset(f.HOME, east_m=10)), format="json"
    ).json()

    assert (out["price"], out["price_unit"], out["subsidy_share"]) == ("15.00", "meal", "0.50")
    assert out["verified"] is True
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

    silent = client.post(f"/api/v1/requests/{sr}/check-out/", at(f.offset(f.HOME)), format="json")
    done = client.post(
        f"/api/v1/requests/{sr}/check-out/",
        at(f.offset(f.HOME), welfare_outcome="no_answer"),
        format="json",
    )

    assert silent.status_code == 422
    assert silent.json()["error"]["code"] == "welfare_outcome_required"
    assert done.json()["welfare_outcome"] == "no_answer"
    assert OperatorAlert.objects.get(request_id=sr).kind == "welfare_no_answer"


def subsidised_visit_checked_in_away(operator, elder, district, make_worker, capture):
    """A subsidised meal whose worker checked in 450 m from the home, giving a reason."""
    worker = make_worker(east_m=30)
    ProviderService.objects.filter(provider=worker.provider, service_code="meal").update(
        price=Decimal("15.00"), unit="meal", subsidised=True
    )
    sr = assigned(operator, elder, worker, capture)
    api(worker.user).post(
        f"/api/v1/requests/{sr}/check-in/",
        at(f.offset(f.HOME, north_m=450), exception_reason="elder_not_at_home"),
        format="json",
    )
    return worker, sr, Visit.objects.get(request_id=sr)


def credit_of(worker):
    return list(CreditEvent.objects.filter(worker=worker).values_list("kind", "delta"))


def decide(supervisor, visit, approve, resolution):
    return api(supervisor).post(
        f"/api/v1/visits/{visit.pk}/exception/",
        {"approve": approve, "resolution": resolution},
        format="json",
    )


def test_a_rejected_exception_leaves_the_visit_unverified_unsubsidised_and_uncredited(
    operator, elder, district, make_worker, django_capture_on_commit_callbacks
):
    supervisor = f.UserFactory(role="supervisor", district=district)
    worker, sr, visit = subsidised_visit_checked_in_away(
        operator, elder, district, make_worker, django_capture_on_commit_callbacks
    )
    api(worker.user).post(f"/api/v1/requests/{sr}/check-out/", at(f.offset(f.HOME)), format="json")

    rejected = decide(supervisor, visit, False, "visit_not_verified")

    assert rejected.status_code == 200, rejected.json()
    assert credit_of(worker) == []
    visit.refresh_from_db()
    assert visit.subsidy_share == Decimal("0.00")
    assert (visit.verified, rejected.json()["verified"]) == (False, False)
    assert not Visit.objects.filter(verified=True).exists()  # what settlement will count
    audit = Event.objects.get(kind="visit.exception_rejected", subject_id=visit.pk)
    assert audit.data["subsidy_share"] == {"before": "0.50", "after": "0.00"}


def test_a_visit_with_a_pending_exception_earns_credit_only_once_approved(
    operator, elder, district, make_worker, django_capture_on_commit_callbacks
):
    supervisor = f.UserFactory(role="supervisor", district=district)
    worker, sr, visit = subsidised_visit_checked_in_away(
        operator, elder, district, make_worker, django_capture_on_commit_callbacks
    )

    out = api(worker.user).post(
        f"/api/v1/requests/{sr}/check-out/", at(f.offset(f.HOME)), format="json"
    )
    credit_while_pending = credit_of(worker)
    approved = decide(supervisor, visit, True, "met_elsewhere")

    assert credit_while_pending == []
    assert out.json()["verified"] is False
    assert credit_of(worker) == [("verified_visit", Decimal("0.2"))]
    assert approved.json()["verified"] is True
    assert list(Visit.objects.filter(verified=True).values_list("pk", flat=True)) == [visit.pk]
    assert Visit.objects.get(pk=visit.pk).subsidy_share == Decimal("0.50")


def test_an_exception_approved_before_check_out_is_credited_at_check_out(
    operator, elder, district, make_worker, django_capture_on_commit_callbacks
):
    supervisor = f.UserFactory(role="supervisor", district=district)
    worker, sr, visit = subsidised_visit_checked_in_away(
        operator, elder, district, make_worker, django_capture_on_commit_callbacks
    )

    decide(supervisor, visit, True, "position_error_confirmed")
    before_check_out = credit_of(worker)
    api(worker.user).post(f"/api/v1/requests/{sr}/check-out/", at(f.offset(f.HOME)), format="json")

    assert before_check_out == []
    assert credit_of(worker) == [("verified_visit", Decimal("0.2"))]


@pytest.mark.usefixtures("english")
def test_a_check_in_long_before_the_window_opens_is_refused_naming_the_window(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    sr = assigned(operator, elder, worker, django_capture_on_commit_callbacks)
    opens = timezone.now() + timedelta(hours=3)
    ServiceRequest.objects.filter(pk=sr).update(
        window_start=opens, window_end=opens + timedelta(hours=1)
    )
    door = at(f.offset(f.HOME, east_m=10))

    early = api(worker.user).post(f"/api/v1/requests/{sr}/check-in/", door, format="json")
    ServiceRequest.objects.filter(pk=sr).update(window_start=opens - timedelta(hours=1, minutes=10))
    in_time = api(worker.user).post(f"/api/v1/requests/{sr}/check-in/", door, format="json")

    assert early.status_code == 422, early.json()
    error = early.json()["error"]
    assert error["code"] == "check_in_too_early"
    assert abs(datetime.fromisoformat(error["window_start"]) - opens) < timedelta(milliseconds=1)
    assert error["early_check_in_h"] == 2
    assert "window" in error["message"]
    assert in_time.status_code == 201, in_time.json()


def test_how_early_a_worker_may_check_in_is_a_setting(
    operator, elder, make_worker, django_capture_on_commit_callbacks, settings
):
    settings.ANXIN = {**settings.ANXIN, "EARLY_CHECK_IN_H": 4}
    worker = make_worker(east_m=30)
    sr = assigned(operator, elder, worker, django_capture_on_commit_callbacks)
    opens = timezone.now() + timedelta(hours=3)
    ServiceRequest.objects.filter(pk=sr).update(
        window_start=opens, window_end=opens + timedelta(hours=1)
    )

    response = api(worker.user).post(
        f"/api/v1/requests/{sr}/check-in/", at(f.offset(f.HOME)), format="json"
    )

    assert response.status_code == 201, response.json()


def test_check_out_needs_a_position_and_records_where_it_was(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    sr = assigned(operator, elder, worker, django_capture_on_commit_callbacks)
    client = api(worker.user)
    client.post(f"/api/v1/requests/{sr}/check-in/", at(f.offset(f.HOME)), format="json")
    door = f.offset(f.HOME, east_m=40)

    nowhere = client.post(f"/api/v1/requests/{sr}/check-out/")
    from_a_map_sdk = client.post(
        f"/api/v1/requests/{sr}/check-out/",
        {
            "location": {"type": "Point", "coordinates": list(wgs84_to_gcj02(*door.coords))},
            "crs": "gcj02",
        },
        format="json",
    )

    assert nowhere.status_code == 400
    assert "location" in nowhere.json()["error"]["fields"]
    assert from_a_map_sdk.status_code == 200, from_a_map_sdk.json()
    assert from_a_map_sdk.json()["check_out_distance_m"] == pytest.approx(40, abs=2)
    visit = Visit.objects.get(request_id=sr)
    assert visit.check_out_point.distance(door) * 111_000 < 2  # stored as WGS-84
