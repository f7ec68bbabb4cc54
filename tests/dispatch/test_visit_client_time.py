"""The phone's time beside the server's (`client_at`, for visits the phone kept offline), and
the no-show race: a check-in that arrives after the sweeper treated the job as a no-show."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.models import Event
from dispatch import services
from dispatch.models import JobOffer, OperatorAlert, RequestState, ServiceRequest, Visit
from dispatch.services.visits import CheckInAfterNoShow
from providers.models import CreditEvent
from tests import factories as f
from tests.conftest import api

from .conftest import create

pytestmark = pytest.mark.django_db

DOOR = f.offset(f.HOME, east_m=10)


def at(point, **extra):
    return {"location": {"type": "Point", "coordinates": list(point.coords)}, **extra}


def iso(delta: timedelta) -> str:
    return (timezone.now() + delta).isoformat()


@pytest.fixture
def job(operator, elder, make_worker, django_capture_on_commit_callbacks):
    """A meal accepted by the nearest worker: (request id, worker)."""
    worker = make_worker(east_m=30)
    sr = create(operator, elder, django_capture_on_commit_callbacks)
    offer = JobOffer.objects.get(request_id=sr, worker=worker)
    assert api(worker.user).post(f"/api/v1/offers/{offer.pk}/accept/").status_code == 200
    return sr, worker


def check_in_event(sr: int) -> Event:
    return Event.objects.get(subject_type="request", subject_id=sr, kind="request.on_site")


def test_a_check_in_keeps_the_phones_time_beside_the_servers(job):
    sr, worker = job
    sent = timezone.now() - timedelta(minutes=2)

    response = api(worker.user).post(
        f"/api/v1/requests/{sr}/check-in/", at(DOOR, client_at=sent.isoformat()), format="json"
    )

    assert response.status_code == 201, response.content
    visit = Visit.objects.get(request_id=sr)
    assert visit.client_checked_in_at == sent
    assert visit.checked_in_at > sent  # the server's time stays the record
    assert visit.exception_state == ""
    data = check_in_event(sr).data
    assert data["client_at"] == sent.isoformat()
    assert data["client_gap_s"] == pytest.approx(120, abs=5)
    assert data["late_sync"] is False


def test_a_gap_beyond_the_setting_is_an_exception_for_a_supervisor(job, settings):
    sr, worker = job
    gap_m = settings.ANXIN["CLIENT_TIME_GAP_M"]
    client = api(worker.user)

    client.post(
        f"/api/v1/requests/{sr}/check-in/",
        at(DOOR, client_at=iso(-timedelta(minutes=gap_m + 5))),
        format="json",
    )
    out = client.post(f"/api/v1/requests/{sr}/check-out/", at(DOOR), format="json").json()

    visit = Visit.objects.get(request_id=sr)
    assert (visit.exception_reason, visit.exception_state) == ("late_sync", "pending")
    assert out["verified"] is False, "not verified until a supervisor approves"
    assert not CreditEvent.objects.filter(worker=worker, kind="verified_visit").exists()
    assert check_in_event(sr).data["late_sync"] is True


def test_a_late_sync_visit_counts_once_a_supervisor_approves_it(job, district, settings):
    sr, worker = job
    supervisor = f.UserFactory(role="supervisor", district=district)
    client = api(worker.user)
    late = iso(-timedelta(minutes=settings.ANXIN["CLIENT_TIME_GAP_M"] + 1))
    client.post(f"/api/v1/requests/{sr}/check-in/", at(DOOR, client_at=late), format="json")
    client.post(f"/api/v1/requests/{sr}/check-out/", at(DOOR), format="json")
    visit = Visit.objects.get(request_id=sr)

    decided = api(supervisor).post(
        f"/api/v1/visits/{visit.pk}/exception/",
        {"approve": True, "resolution": "offline_visit_confirmed"},
        format="json",
    )

    assert decided.status_code == 200, decided.content
    assert decided.json()["verified"] is True
    assert CreditEvent.objects.filter(worker=worker, kind="verified_visit").count() == 1


def test_a_phone_time_in_the_future_is_a_400_naming_client_at(job, settings):
    sr, worker = job
    ahead = timedelta(seconds=settings.ANXIN["CLIENT_TIME_AHEAD_S"] + 60)

    response = api(worker.user).post(
        f"/api/v1/requests/{sr}/check-in/", at(DOOR, client_at=iso(ahead)), format="json"
    )

    assert response.status_code == 400
    assert "client_at" in response.json()["error"]["fields"]
    assert not Visit.objects.filter(request_id=sr).exists()


def test_a_small_lead_of_the_phones_clock_is_accepted(job):
    sr, worker = job

    response = api(worker.user).post(
        f"/api/v1/requests/{sr}/check-in/",
        at(DOOR, client_at=iso(timedelta(seconds=30))),
        format="json",
    )

    assert response.status_code == 201
    assert Visit.objects.get(request_id=sr).exception_state == ""


def test_a_geofence_exception_is_kept_and_the_gap_recorded_beside_it(job, settings):
    sr, worker = job
    late = iso(-timedelta(minutes=settings.ANXIN["CLIENT_TIME_GAP_M"] + 5))

    response = api(worker.user).post(
        f"/api/v1/requests/{sr}/check-in/",
        at(f.offset(f.HOME, north_m=450), exception_reason="gps_drift", client_at=late),
        format="json",
    )

    assert response.status_code == 201
    visit = Visit.objects.get(request_id=sr)
    assert (visit.exception_reason, visit.exception_state) == ("gps_drift", "pending")
    data = check_in_event(sr).data
    assert data["late_sync"] is True and data["client_gap_s"] > 600


def test_a_late_check_out_flags_a_visit_that_had_no_exception(job, settings):
    sr, worker = job
    client = api(worker.user)
    client.post(f"/api/v1/requests/{sr}/check-in/", at(DOOR), format="json")
    late = iso(-timedelta(minutes=settings.ANXIN["CLIENT_TIME_GAP_M"] + 2))

    out = client.post(
        f"/api/v1/requests/{sr}/check-out/", at(DOOR, client_at=late), format="json"
    ).json()

    visit = Visit.objects.get(request_id=sr)
    assert visit.client_checked_out_at.isoformat() == late
    assert (visit.exception_reason, visit.exception_state) == ("late_sync", "pending")
    assert out["verified"] is False
    completed = Event.objects.get(subject_type="request", subject_id=sr, kind="request.completed")
    assert completed.data["client_at"] == late and completed.data["late_sync"] is True


# The no-show race -----------------------------------------------------------------------------


def no_show(sr: int, capture) -> None:
    """The window ended with nobody checked in: the sweeper's no-show."""
    ServiceRequest.objects.filter(pk=sr).update(
        window_start=timezone.now() - timedelta(hours=2),
        window_end=timezone.now() - timedelta(minutes=1),
    )
    with capture(execute=True):
        assert services.request_no_show(request_id=sr) is True


def test_a_check_in_after_the_no_show_is_refused_recorded_and_alerted_service(
    job, django_capture_on_commit_callbacks
):
    sr, worker = job
    no_show(sr, django_capture_on_commit_callbacks)
    phone_time = timezone.now() - timedelta(minutes=20)

    with pytest.raises(CheckInAfterNoShow) as refused:
        services.visit_check_in(request_id=sr, user=worker.user, point=DOOR, client_at=phone_time)

    assert refused.value.status_code == 409
    assert refused.value.error_code == "treated_as_no_show"
    assert refused.value.extra["current_state"] != RequestState.ON_SITE
    late = Event.objects.get(kind="visit.late_check_in", subject_id=sr)
    assert late.actor == worker.user
    assert late.data["worker"] == worker.pk
    assert late.data["client_at"] == phone_time.isoformat()
    assert late.data["distance_m"] == pytest.approx(10, abs=3)
    assert late.data["location"] == pytest.approx(list(DOOR.coords))
    alert = OperatorAlert.objects.get(request_id=sr, kind="late_check_in")
    assert alert.resolved_at is None
    assert not Visit.objects.filter(request_id=sr).exists()


def test_a_check_in_after_the_no_show_through_the_api_is_a_409_kept_once(
    job, english, django_capture_on_commit_callbacks
):
    sr, worker = job
    no_show(sr, django_capture_on_commit_callbacks)
    body = at(DOOR, client_at=iso(-timedelta(minutes=15)))
    client = api(worker.user)

    first = client.post(
        f"/api/v1/requests/{sr}/check-in/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = client.post(
        f"/api/v1/requests/{sr}/check-in/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert first.status_code == again.status_code == 409
    error = first.json()["error"]
    assert error["code"] == "treated_as_no_show"
    assert "no-show" in error["message"] and error["no_show_at"]
    assert Event.objects.filter(kind="visit.late_check_in", subject_id=sr).count() == 1
    assert OperatorAlert.objects.filter(request_id=sr, kind="late_check_in").count() == 1


def test_a_check_in_from_a_worker_never_on_the_job_is_still_not_found(
    job, district, django_capture_on_commit_callbacks
):
    sr, _worker = job
    no_show(sr, django_capture_on_commit_callbacks)
    stranger = f.WorkerFactory(provider=f.ProviderFactory(district=district))

    response = api(stranger.user).post(f"/api/v1/requests/{sr}/check-in/", at(DOOR), format="json")

    assert response.status_code == 404
    assert not Event.objects.filter(kind="visit.late_check_in").exists()
    with pytest.raises(services.RequestNotFound):
        services.visit_check_in(request_id=sr, user=stranger.user, point=DOOR)
