"""The core loop in one process: real PostGIS and Redis, Celery tasks run inline (eager)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.geo import wgs84_to_gcj02
from backend.core.models import Event
from dispatch.models import JobOffer, OfferState, RequestState, ServiceRequest, Visit
from dispatch.tasks import sweep_deadlines
from providers.models import Worker
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


def create_request(user, elder, service="meal", **extra):
    return api(user).post(
        "/api/v1/requests/", {"elder": elder.pk, "service_type": service, **extra}, format="json"
    )


def offers_of(worker, state=OfferState.PENDING):
    return JobOffer.objects.filter(worker=worker, state=state)


def test_request_goes_to_the_nearest_eligible_worker(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    far = make_worker(east_m=1500)
    near = make_worker(east_m=300)
    make_worker(east_m=100, skills=["bathing"])
    make_worker(east_m=50, shift_state="off")
    make_worker(east_m=20_000)

    with django_capture_on_commit_callbacks(execute=True):
        response = create_request(operator, elder)

    assert response.status_code == 201, response.json()
    sr = ServiceRequest.objects.get(pk=response.json()["id"])
    assert sr.state == RequestState.OFFERED
    assert [o.worker_id for o in sr.offers.all()] == [near.pk]
    assert not offers_of(far).exists()
    assert 280 < sr.offers.get().distance_m < 320


def test_worker_offer_list_hides_name_and_address(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=300)
    with django_capture_on_commit_callbacks(execute=True):
        create_request(operator, elder)

    body = api(worker.user).get("/api/v1/offers/").json()

    [offer] = body["results"]
    assert offer["service_type"] == "meal"
    assert offer["distance_m"] == pytest.approx(300, abs=20)
    flat = str(body)
    assert elder.full_name not in flat and elder.address not in flat


def test_decline_moves_the_offer_on_at_once(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    first = make_worker(east_m=100)
    second = make_worker(east_m=400)
    with django_capture_on_commit_callbacks(execute=True):
        create_request(operator, elder)
    offer = offers_of(first).get()

    with django_capture_on_commit_callbacks(execute=True):
        response = api(first.user).post(
            f"/api/v1/offers/{offer.pk}/decline/", {"reason": "too far"}, format="json"
        )

    assert response.status_code == 200, response.json()
    assert offers_of(first, OfferState.DECLINED).get().decline_reason == "too far"
    assert offers_of(second).exists()


def test_unanswered_offer_expires_to_the_next_candidate_via_the_sweeper(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    first = make_worker(east_m=100)
    second = make_worker(east_m=400)
    with django_capture_on_commit_callbacks(execute=True):
        create_request(operator, elder)
    # Given the timer task was lost and the deadline passed
    JobOffer.objects.filter(worker=first).update(expires_at=timezone.now() - timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        result = sweep_deadlines()

    assert result["offers_expired"] == 1
    assert offers_of(first, OfferState.EXPIRED).exists()
    assert offers_of(second).exists()


def test_no_candidates_left_puts_the_request_in_the_operator_queue(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    only = make_worker(east_m=100)
    with django_capture_on_commit_callbacks(execute=True):
        sr_id = create_request(operator, elder).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        api(only.user).post(
            f"/api/v1/offers/{offers_of(only).get().pk}/decline/",
            {"reason": "busy"},
            format="json",
        )

    assert ServiceRequest.objects.get(pk=sr_id).state == RequestState.ESCALATED
    queue = api(operator).get("/api/v1/requests/?state=escalated").json()["results"]
    assert [r["id"] for r in queue] == [sr_id]


def test_emergency_goes_to_several_and_first_accept_withdraws_the_others(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    workers = [make_worker(east_m=100 * (i + 1)) for i in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        sr_id = create_request(operator, elder, service="emergency").json()["id"]
    offers = list(JobOffer.objects.filter(request_id=sr_id).order_by("rank"))
    assert [o.worker_id for o in offers] == [w.pk for w in workers[:3]]

    with django_capture_on_commit_callbacks(execute=True):
        won = api(workers[1].user).post(f"/api/v1/offers/{offers[1].pk}/accept/")
    late = api(workers[0].user).post(f"/api/v1/offers/{offers[0].pk}/accept/")

    assert won.status_code == 200, won.json()
    assert late.status_code == 409
    assert late.json()["error"]["current_state"] == "withdrawn"
    states = dict(JobOffer.objects.filter(request_id=sr_id).values_list("worker_id", "state"))
    assert states == {
        workers[0].pk: "withdrawn",
        workers[1].pk: "accepted",
        workers[2].pk: "withdrawn",
    }
    told = Event.objects.filter(kind="offer.withdrawn", recipients__contains=[workers[0].user_id])
    assert told.exists()


def test_accept_after_the_request_was_taken_names_the_current_state(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=100)
    with django_capture_on_commit_callbacks(execute=True):
        create_request(operator, elder)
    offer = offers_of(worker).get()
    assert api(worker.user).post(f"/api/v1/offers/{offer.pk}/accept/").status_code == 200

    again = api(worker.user).post(f"/api/v1/offers/{offer.pk}/accept/")

    assert again.status_code == 409
    assert again.json()["error"]["current_state"] == "accepted"
    assert again.json()["error"]["request_state"] == "assigned"
    assert Worker.objects.get(pk=worker.pk).active_jobs == 1


def test_another_workers_offer_is_not_found(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=100)
    stranger = make_worker(east_m=9000)
    with django_capture_on_commit_callbacks(execute=True):
        create_request(operator, elder)

    response = api(stranger.user).post(f"/api/v1/offers/{offers_of(worker).get().pk}/accept/")

    assert response.status_code == 404


def _assigned(operator, elder, make_worker, capture):
    worker = make_worker(east_m=100)
    with capture(execute=True):
        sr_id = create_request(operator, elder).json()["id"]
    with capture(execute=True):
        api(worker.user).post(f"/api/v1/offers/{offers_of(worker).get().pk}/accept/")
    return worker, sr_id


def check_in(worker, sr_id, where, crs="wgs84"):
    return api(worker.user).post(
        f"/api/v1/requests/{sr_id}/check-in/",
        {"location": {"type": "Point", "coordinates": list(where)}, "crs": crs},
        format="json",
    )


def test_check_in_outside_the_geofence_is_refused_with_the_distance(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker, sr_id = _assigned(operator, elder, make_worker, django_capture_on_commit_callbacks)
    away = f.offset(f.HOME, east_m=800)

    response = check_in(worker, sr_id, away.coords)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "outside_geofence"
    assert error["distance_m"] == pytest.approx(800, abs=15)
    assert ServiceRequest.objects.get(pk=sr_id).state == RequestState.ASSIGNED
    assert not Visit.objects.exists()


def test_check_in_and_out_at_the_door_text_every_contact_who_opted_in(
    operator, elder, make_worker, django_capture_on_commit_callbacks, outbox
):
    first = f.ContactFactory(elder=elder, priority=1)
    second = f.ContactFactory(elder=elder, priority=2)
    f.ContactFactory(elder=elder, priority=3, wants_sms=False)
    worker, sr_id = _assigned(operator, elder, make_worker, django_capture_on_commit_callbacks)
    door = f.offset(f.HOME, north_m=30)

    with django_capture_on_commit_callbacks(execute=True):
        arrived = check_in(worker, sr_id, door.coords)
    with django_capture_on_commit_callbacks(execute=True):
        left = api(worker.user).post(
            f"/api/v1/requests/{sr_id}/check-out/",
            {"location": {"type": "Point", "coordinates": list(door.coords)}},
            format="json",
        )

    assert arrived.status_code == 201, arrived.json()
    assert arrived.json()["distance_m"] == pytest.approx(30, abs=3)
    assert left.status_code == 200, left.json()
    visit = Visit.objects.get(request_id=sr_id)
    assert visit.checked_in_at <= visit.checked_out_at
    assert ServiceRequest.objects.get(pk=sr_id).state == RequestState.COMPLETED
    assert Worker.objects.get(pk=worker.pk).active_jobs == 0
    sent = [(m["template"], m["to"]) for m in outbox]
    assert sent == [
        ("sms.visit_check_in", str(first.phone)),
        ("sms.visit_check_in", str(second.phone)),
        ("sms.visit_check_out", str(first.phone)),
        ("sms.visit_check_out", str(second.phone)),
    ]
    assert outbox[0]["params"]["reference"] == ServiceRequest.objects.get(pk=sr_id).reference


def test_check_in_from_a_gcj02_phone_is_converted_before_the_geofence(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker, sr_id = _assigned(operator, elder, make_worker, django_capture_on_commit_callbacks)
    door_as_map_sdk_sees_it = wgs84_to_gcj02(*f.offset(f.HOME, east_m=20).coords)

    # The same numbers taken as WGS-84 land hundreds of metres off: outside the geofence.
    raw = check_in(worker, sr_id, door_as_map_sdk_sees_it, crs="wgs84")
    response = check_in(worker, sr_id, door_as_map_sdk_sees_it, crs="gcj02")

    assert raw.status_code == 422, raw.json()
    assert raw.json()["error"]["code"] == "outside_geofence"
    assert raw.json()["error"]["distance_m"] > 200
    assert response.status_code == 201, response.json()
    assert response.json()["distance_m"] == pytest.approx(20, abs=2)


def test_cancel_withdraws_open_offers_and_tells_the_worker(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=100)
    with django_capture_on_commit_callbacks(execute=True):
        sr_id = create_request(operator, elder).json()["id"]

    response = api(operator).post(
        f"/api/v1/requests/{sr_id}/cancel/", {"reason": "duplicate"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert offers_of(worker, OfferState.WITHDRAWN).exists()
    assert Event.objects.filter(
        kind="offer.withdrawn",
        recipients__contains=[worker.user_id],
        data__reason="request_cancelled",
    ).exists()


def test_future_request_waits_for_its_lead_time(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    make_worker(east_m=100)
    lunch = timezone.now() + timedelta(hours=20)

    with django_capture_on_commit_callbacks(execute=True):
        sr_id = create_request(operator, elder, window_start=lunch.isoformat()).json()["id"]
        sweep_deadlines()

    sr = ServiceRequest.objects.get(pk=sr_id)
    assert sr.state == RequestState.NEW
    assert sr.match_at == lunch - sr.service_type.lead_time

    ServiceRequest.objects.filter(pk=sr_id).update(match_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        sweep_deadlines()
    assert ServiceRequest.objects.get(pk=sr_id).state == RequestState.OFFERED


@pytest.mark.usefixtures("english")
def test_family_requests_for_their_own_elder_only(family, elder, district):
    stranger_elder = f.ElderFactory(district=district)

    own = create_request(family, elder)
    other = create_request(family, stranger_elder)

    assert own.status_code == 201
    assert own.json()["channel"] == "family"
    assert other.status_code == 400
    assert other.json()["error"]["fields"] == {"elder": ["no such elder"]}


def test_bad_input_names_the_field_and_the_reason(operator, elder):
    response = create_request(operator, elder, service="teleportation", window_start="tomorrow-ish")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "window_start" in error["fields"]


def test_workers_cannot_create_requests(elder, make_worker):
    worker = make_worker()

    assert create_request(worker.user, elder).status_code == 403
