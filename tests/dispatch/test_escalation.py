from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.models import Event
from dispatch.models import JobOffer, OperatorAlert, RequestState, ServiceRequest, Visit
from dispatch.tasks import sweep_deadlines
from providers.models import CreditEvent, Worker
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


def create(user, elder, capture, service="meal"):
    with capture(execute=True):
        response = api(user).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": service}, format="json"
        )
    return response.json()["id"]


def test_nobody_left_raises_an_alert_a_named_operator_must_take(
    operator, elder, district, django_capture_on_commit_callbacks
):
    supervisor = f.UserFactory(role="supervisor", district=district)
    sr = create(operator, elder, django_capture_on_commit_callbacks)
    [alert] = api(operator).get("/api/v1/alerts/?open=true").json()["results"]
    OperatorAlert.objects.filter(pk=alert["id"]).update(
        resend_at=timezone.now() - timedelta(seconds=1)
    )

    swept = sweep_deadlines()
    taken = api(operator).post(f"/api/v1/alerts/{alert['id']}/acknowledge/")
    again = api(supervisor).post(f"/api/v1/alerts/{alert['id']}/acknowledge/")

    assert alert["request"] == sr and alert["kind"] == "no_worker"
    assert swept["alerts_resent"] == 1
    assert Event.objects.filter(kind="alert.resent", recipients__contains=[supervisor.pk])
    assert taken.json()["acknowledged_by"] == operator.username
    assert again.status_code == 409
    assert api(operator).get("/api/v1/alerts/?open=true").json()["results"] == []


def test_an_emergency_nobody_takes_calls_the_family_and_says_call_120(
    operator, elder, outbox, django_capture_on_commit_callbacks
):
    first = f.ContactFactory(elder=elder, priority=1)
    second = f.ContactFactory(elder=elder, priority=2, wants_sms=False)

    create(operator, elder, django_capture_on_commit_callbacks, service="emergency")

    sms = [(m["template"], m["to"]) for m in outbox if m["kind"] == "sms"]
    calls = [m for m in outbox if m["kind"] == "call"]
    assert sms == [("sms.emergency_created", str(first.phone)), ("sms.no_worker", str(first.phone))]
    # The call-out: the first contact is asked to press 1 (tests/dispatch/test_callout.py)
    assert [(c["template"], c["to"]) for c in calls] == [("call.callout_prompt", str(first.phone))]
    assert second.phone not in {m["to"] for m in outbox}
    raised = Event.objects.get(kind="alert.raised")
    assert "120" in raised.data["instruction"]


def test_no_check_in_by_the_end_of_the_window_is_a_no_show_and_the_job_is_offered_again(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    late = make_worker(east_m=30)
    backup = make_worker(east_m=600)
    sr = create(operator, elder, django_capture_on_commit_callbacks)
    api(late.user).post(f"/api/v1/offers/{JobOffer.objects.get(worker=late).pk}/accept/")
    ServiceRequest.objects.filter(pk=sr).update(
        window_start=timezone.now() - timedelta(hours=1),
        window_end=timezone.now() - timedelta(minutes=1),
    )

    with django_capture_on_commit_callbacks(execute=True):
        swept = sweep_deadlines()

    assert swept["no_shows"] == 1
    assert ServiceRequest.objects.get(pk=sr).state == RequestState.OFFERED
    assert JobOffer.objects.filter(request_id=sr, worker=backup, state="pending").exists()
    assert OperatorAlert.objects.get(request_id=sr).kind == "non_arrival"
    assert CreditEvent.objects.filter(worker=late, kind="no_show").exists()
    assert Worker.objects.get(pk=late.pk).active_jobs == 0
    assert api(late.user).get(f"/api/v1/elders/{elder.pk}/").status_code == 404


def test_a_visit_far_longer_than_the_service_raises_one_alert(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    sr = create(operator, elder, django_capture_on_commit_callbacks)
    client = api(worker.user)
    client.post(f"/api/v1/offers/{JobOffer.objects.get(worker=worker).pk}/accept/")
    client.post(
        f"/api/v1/requests/{sr}/check-in/",
        {"location": {"type": "Point", "coordinates": list(f.HOME)}},
        format="json",
    )
    Visit.objects.filter(request_id=sr).update(checked_in_at=timezone.now() - timedelta(hours=2))

    first = sweep_deadlines()
    second = sweep_deadlines()

    assert (first["missing_check_outs"], second["missing_check_outs"]) == (1, 0)
    assert OperatorAlert.objects.get(request_id=sr).kind == "missing_check_out"
