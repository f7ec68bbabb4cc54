"""The operators' exception queue: every alert has a reason code (its kind), is taken by a
named operator and is resolved with a code that fits its kind; alerts end with their work
order, resolved by whoever ended it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.models import Event
from dispatch.models import JobOffer, OperatorAlert, ServiceRequest
from dispatch.tasks import sweep_deadlines
from tests.conftest import api
from tests.dispatch.conftest import ON_THE_DOORSTEP, create

pytestmark = pytest.mark.django_db


def test_an_alert_is_resolved_with_a_code_of_its_kind(operator, missing_check_out):
    queue = api(operator).get("/api/v1/alerts/?unresolved=true").json()["results"]
    wrong = api(operator).post(
        f"/api/v1/alerts/{missing_check_out.pk}/resolve/",
        {"resolution": "elder_found_well"},
        format="json",
    )
    done = api(operator).post(
        f"/api/v1/alerts/{missing_check_out.pk}/resolve/",
        {"resolution": "worker_forgot_check_out", "note": "called her, she left at 14:10"},
        format="json",
    )
    again = api(operator).post(
        f"/api/v1/alerts/{missing_check_out.pk}/resolve/",
        {"resolution": "visit_extended"},
        format="json",
    )

    assert [a["kind"] for a in queue] == ["missing_check_out"]
    assert "worker_forgot_check_out" in queue[0]["resolutions"]
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "resolution_not_allowed"
    assert done.status_code == 200, done.json()
    body = done.json()
    assert (body["resolution"], body["resolved_by"]) == (
        "worker_forgot_check_out",
        operator.username,
    )
    assert body["acknowledged_by"] == operator.username  # resolving takes responsibility too
    assert again.status_code == 409
    assert api(operator).get("/api/v1/alerts/?unresolved=true").json()["results"] == []
    assert Event.objects.filter(kind="alert.resolved", subject_id=missing_check_out.pk).exists()


def test_an_unknown_code_or_kind_is_a_400_naming_the_field(operator, missing_check_out):
    bad_code = api(operator).post(
        f"/api/v1/alerts/{missing_check_out.pk}/resolve/", {"resolution": "shrug"}, format="json"
    )
    bad_kind = api(operator).get("/api/v1/alerts/?kind=meteor")

    assert bad_code.status_code == 400 and "resolution" in bad_code.json()["error"]["fields"]
    assert bad_kind.status_code == 400 and "kind" in bad_kind.json()["error"]["fields"]


def test_a_resolved_alert_is_not_re_sent(operator, missing_check_out):
    api(operator).post(
        f"/api/v1/alerts/{missing_check_out.pk}/resolve/",
        {"resolution": "visit_extended"},
        format="json",
    )
    OperatorAlert.objects.filter(pk=missing_check_out.pk).update(
        resend_at=timezone.now() - timedelta(seconds=1)
    )

    assert sweep_deadlines()["alerts_resent"] == 0


def test_alerts_end_with_their_work_order_resolved_by_whoever_ended_it(
    operator, family, elder, django_capture_on_commit_callbacks
):
    sr = create(family, elder, django_capture_on_commit_callbacks)  # nobody near: queued
    alert = OperatorAlert.objects.get(request_id=sr, kind="no_worker")

    api(family).post(f"/api/v1/requests/{sr}/cancel/", {"reason": "son came"}, format="json")

    alert.refresh_from_db()
    assert (alert.resolution, alert.resolved_by) == ("request_ended", family)
    assert api(operator).get("/api/v1/alerts/?unresolved=true").json()["results"] == []


def test_an_emergencys_outcome_alert_is_resolved_by_closing_it_with_the_outcome(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    sr = create(operator, elder, django_capture_on_commit_callbacks, "emergency")
    client = api(worker.user)
    client.post(f"/api/v1/offers/{JobOffer.objects.get(worker=worker).pk}/accept/")
    client.post(f"/api/v1/requests/{sr}/check-in/", ON_THE_DOORSTEP, format="json")
    client.post(f"/api/v1/requests/{sr}/check-out/", ON_THE_DOORSTEP, format="json")
    alert = OperatorAlert.objects.get(request_id=sr, kind="emergency_outcome")

    direct = api(operator).post(
        f"/api/v1/alerts/{alert.pk}/resolve/", {"resolution": "outcome_recorded"}, format="json"
    )
    api(operator).post(
        f"/api/v1/requests/{sr}/close/", {"outcome": "resolved_on_site"}, format="json"
    )

    assert direct.status_code == 422
    alert.refresh_from_db()
    assert (alert.resolution, alert.resolved_by) == ("outcome_recorded", operator)


@pytest.mark.usefixtures("english")
def test_an_alert_the_system_closed_with_its_work_order_cannot_be_taken(
    operator, elder, django_capture_on_commit_callbacks
):
    """Queued routine work fails by itself at the end of its window; its alert goes with it."""
    sr = create(operator, elder, django_capture_on_commit_callbacks)
    alert = OperatorAlert.objects.get(request_id=sr, kind="no_worker")
    ServiceRequest.objects.filter(pk=sr).update(
        window_start=timezone.now() - timedelta(hours=2),
        window_end=timezone.now() - timedelta(minutes=1),
    )
    sweep_deadlines()

    taken = api(operator).post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    resolved = api(operator).post(
        f"/api/v1/alerts/{alert.pk}/resolve/", {"resolution": "other"}, format="json"
    )

    assert taken.status_code == 409 and "the system" in taken.json()["error"]["message"]
    assert resolved.status_code == 409
    assert taken.json()["error"]["current_state"] == "resolved"
