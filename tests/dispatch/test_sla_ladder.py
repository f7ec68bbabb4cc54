"""Service-level targets and the escalation ladder, per service type: rounds of offers, the
operator queue, alerts re-sent at the type's interval, and targets missed recorded once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.models import Event
from dispatch.models import JobOffer, OperatorAlert, RequestState, ServiceRequest, ServiceType
from dispatch.tasks import sweep_deadlines
from providers.models import CreditEvent
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


def create(user, elder, capture, service="meal", **extra):
    with capture(execute=True):
        response = api(user).post(
            "/api/v1/requests/",
            {"elder": elder.pk, "service_type": service, **extra},
            format="json",
        )
    assert response.status_code == 201, response.json()
    return response.json()


def accept(worker):
    offer = JobOffer.objects.get(worker=worker)
    assert api(worker.user).post(f"/api/v1/offers/{offer.pk}/accept/").status_code == 200


def check_in(worker, request_id):
    at_home = {"location": {"type": "Point", "coordinates": list(f.HOME)}}
    response = api(worker.user).post(
        f"/api/v1/requests/{request_id}/check-in/", at_home, format="json"
    )
    assert response.status_code == 201, response.json()


def expire_offers(request_id, capture):
    JobOffer.objects.filter(request_id=request_id, state="pending").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with capture(execute=True):
        return sweep_deadlines()


def test_the_catalogue_shows_each_services_targets_and_ladder(operator):
    rows = {row["code"]: row for row in api(operator).get("/api/v1/service-types/").json()}

    emergency, meal = rows["emergency"], rows["meal"]
    assert (emergency["accept_within_s"], emergency["arrive_within_s"]) == (120, 900)
    assert (emergency["offer_fanout"], emergency["notify_contacts"]) == (3, True)
    assert (meal["accept_within_s"], meal["arrive_within_s"]) == (1800, None)
    assert (meal["offer_fanout"], meal["offer_timeout_s"], meal["offer_rounds"]) == (1, 300, 5)
    assert len(rows) == 10


def test_deadlines_come_from_the_service_type_at_intake(
    operator, elder, django_capture_on_commit_callbacks
):
    before = timezone.now()
    emergency = create(operator, elder, django_capture_on_commit_callbacks, "emergency")
    lunch = timezone.now() + timedelta(days=1)
    meal = create(
        operator,
        elder,
        django_capture_on_commit_callbacks,
        "meal",
        window_start=lunch.isoformat(),
        window_end=(lunch + timedelta(hours=1)).isoformat(),
    )

    e = ServiceRequest.objects.get(pk=emergency["id"])
    m = ServiceRequest.objects.get(pk=meal["id"])
    assert before + timedelta(minutes=2) <= e.accept_due_at <= timezone.now() + timedelta(minutes=2)
    assert e.arrive_due_at == e.window_start + timedelta(minutes=15)
    assert m.accept_due_at == m.match_at + timedelta(minutes=30)
    assert m.arrive_due_at == m.window_end  # routine: on site within the requested window
    assert meal["accept_due_at"] and meal["arrive_due_at"]


def test_after_its_rounds_the_work_goes_to_the_queue_and_no_further(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    ServiceType.objects.filter(code="meal").update(offer_rounds=2)
    first, second, third = (make_worker(east_m=m) for m in (100, 200, 300))
    sr = create(operator, elder, django_capture_on_commit_callbacks)["id"]

    expire_offers(sr, django_capture_on_commit_callbacks)
    expire_offers(sr, django_capture_on_commit_callbacks)

    assert [o.worker_id for o in JobOffer.objects.filter(request_id=sr).order_by("rank")] == [
        first.pk,
        second.pk,
    ]
    request = ServiceRequest.objects.get(pk=sr)
    assert (request.state, request.offer_rounds) == (RequestState.ESCALATED, 2)
    alert = OperatorAlert.objects.get(request_id=sr)
    assert alert.kind == "no_worker"
    escalated = Event.objects.get(subject_id=sr, kind="request.escalated")
    assert escalated.data["reason"] == "rounds_exhausted"
    assert not JobOffer.objects.filter(worker=third).exists()


def test_fanout_and_timeout_are_the_service_types(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    ServiceType.objects.filter(code="cleaning").update(
        offer_fanout=2, offer_timeout=timedelta(seconds=45)
    )
    for m in (100, 200, 300):
        make_worker(east_m=m)
    started = timezone.now()

    sr = create(operator, elder, django_capture_on_commit_callbacks, "cleaning")["id"]

    offers = JobOffer.objects.filter(request_id=sr)
    assert offers.count() == 2
    for offer in offers:
        wait = (offer.expires_at - started).total_seconds()
        assert 45 <= wait < 47


def test_a_missed_accept_target_sends_the_work_to_the_queue_once(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=100)
    sr = create(operator, elder, django_capture_on_commit_callbacks)["id"]
    ServiceRequest.objects.filter(pk=sr).update(accept_due_at=timezone.now() - timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        first = sweep_deadlines()
        second = sweep_deadlines()

    request = ServiceRequest.objects.get(pk=sr)
    assert (first["accept_targets_missed"], second["accept_targets_missed"]) == (1, 0)
    assert request.state == RequestState.ESCALATED and request.accept_missed_at
    assert JobOffer.objects.get(request_id=sr, worker=worker).state == "withdrawn"
    missed = Event.objects.get(subject_id=sr, kind="request.sla_missed")
    assert missed.data["target"] == "accept"
    assert OperatorAlert.objects.get(request_id=sr).kind == "no_worker"
    listed = api(operator).get("/api/v1/requests/?sla_missed=true").json()["results"]
    assert [r["id"] for r in listed] == [sr]


def test_an_accepted_job_never_misses_its_accept_target(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=100)
    sr = create(operator, elder, django_capture_on_commit_callbacks)["id"]
    accept(worker)
    ServiceRequest.objects.filter(pk=sr).update(accept_due_at=timezone.now() - timedelta(seconds=1))

    assert sweep_deadlines()["accept_targets_missed"] == 0
    request = ServiceRequest.objects.get(pk=sr)
    assert request.accepted_at and request.accept_missed_at is None


def test_a_missed_arrival_target_alerts_operators_and_the_arrival_counts_as_late(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=100)
    sr = create(operator, elder, django_capture_on_commit_callbacks, "emergency")["id"]
    accept(worker)
    ServiceRequest.objects.filter(pk=sr).update(arrive_due_at=timezone.now() - timedelta(seconds=1))

    swept = sweep_deadlines()
    check_in(worker, sr)

    request = ServiceRequest.objects.get(pk=sr)
    assert swept["arrive_targets_missed"] == 1 and request.arrive_missed_at
    assert OperatorAlert.objects.get(request_id=sr, kind="late_arrival")
    assert request.arrived_at and request.state == RequestState.ON_SITE
    assert CreditEvent.objects.filter(worker=worker, kind="late_arrival").exists()


def test_an_arrival_inside_the_target_is_not_late(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=100)
    sr = create(operator, elder, django_capture_on_commit_callbacks, "emergency")["id"]
    accept(worker)
    check_in(worker, sr)

    assert sweep_deadlines()["arrive_targets_missed"] == 0
    assert not CreditEvent.objects.filter(worker=worker, kind="late_arrival").exists()


def test_alerts_are_re_sent_at_the_service_types_interval(
    operator, elder, django_capture_on_commit_callbacks
):
    emergency = create(operator, elder, django_capture_on_commit_callbacks, "emergency")["id"]
    meal = create(operator, elder, django_capture_on_commit_callbacks, "meal")["id"]

    def wait(request_id):
        alert = OperatorAlert.objects.get(request_id=request_id)
        return (alert.resend_at - alert.raised_at).total_seconds()

    assert wait(emergency) == pytest.approx(30, abs=1)
    assert wait(meal) == pytest.approx(300, abs=1)


def test_queued_routine_work_fails_at_the_end_of_its_window_but_an_emergency_waits(
    operator, elder, django_capture_on_commit_callbacks
):
    meal = create(operator, elder, django_capture_on_commit_callbacks, "meal")["id"]
    emergency = create(operator, elder, django_capture_on_commit_callbacks, "emergency")["id"]
    ServiceRequest.objects.update(
        window_start=timezone.now() - timedelta(hours=2),
        window_end=timezone.now() - timedelta(minutes=1),
    )

    swept = sweep_deadlines()

    failed = ServiceRequest.objects.get(pk=meal)
    assert swept["requests_failed"] == 1
    assert (failed.state, failed.outcome) == (RequestState.FAILED, "no_worker_in_window")
    assert ServiceRequest.objects.get(pk=emergency).state == RequestState.ESCALATED


def test_an_operator_sends_queued_work_back_through_the_ladder(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    sr = create(operator, elder, django_capture_on_commit_callbacks)["id"]
    worker = make_worker(east_m=100)  # came on shift after the work was queued

    with django_capture_on_commit_callbacks(execute=True):
        response = api(operator).post(f"/api/v1/requests/{sr}/retry/")

    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "offered" and response.json()["offer_rounds"] == 1
    assert JobOffer.objects.filter(request_id=sr, worker=worker, state="pending").exists()
    again = api(operator).post(f"/api/v1/requests/{sr}/retry/")
    assert again.status_code == 409 and again.json()["error"]["current_state"] == "offered"


def test_a_district_tunes_the_ladder_in_the_admin_and_nonsense_is_refused(district):
    from tests.conftest import admin_login

    admin = f.UserFactory(
        role="district_admin", district=district, is_staff=True, is_superuser=True
    )
    client = admin_login(admin)
    meal = ServiceType.objects.get(code="meal")
    url = f"/admin/dispatch/servicetype/{meal.pk}/change/"
    form = {
        "name": meal.name,
        "name_zh": meal.name_zh,
        "default_priority": meal.default_priority,
        "dispatch_mode": meal.dispatch_mode,
        "lead_time": "00:45:00",
        "default_duration": "00:30:00",
        "required_certificates": "health",
        "accept_within": "00:20:00",
        "arrive_within": "",
        "offer_fanout": "2",
        "offer_timeout": "00:02:00",
        "offer_rounds": "4",
        "alert_ack_within": "00:03:00",
        "notify_contacts": "",
    }

    refused = client.post(url, {**form, "offer_fanout": "0"})
    saved = client.post(url, form)

    assert refused.status_code == 200  # the form again, with the error
    assert refused.context["adminform"].form.errors, "a fan-out of 0 must not save"
    assert saved.status_code == 302, saved.content.decode()[:2000]
    meal.refresh_from_db()
    assert (meal.offer_fanout, meal.offer_rounds) == (2, 4)
    assert meal.accept_within == timedelta(minutes=20)


def test_an_emergency_with_nobody_on_the_way_at_its_arrival_target_alerts_again(
    operator, elder, django_capture_on_commit_callbacks
):
    sr = create(operator, elder, django_capture_on_commit_callbacks, "emergency")["id"]
    api(operator).post(f"/api/v1/alerts/{OperatorAlert.objects.get(request_id=sr).pk}/acknowledge/")
    ServiceRequest.objects.filter(pk=sr).update(arrive_due_at=timezone.now() - timedelta(seconds=1))

    sweep_deadlines()

    late = OperatorAlert.objects.get(request_id=sr, kind="late_arrival")
    assert late.acknowledged_by is None  # someone must take this one too
