"""A job's page in the worker app: only for the worker assigned to it; the elder's name,
address, a tap-to-call link and map links (GCJ-02 for Amap, WGS-84 for geo:); set out; check in
and out through the API's own views on the session (CSRF checked), with the Idempotency-Key
counted once, the phone's time recorded, and the no-show race answered as a 409."""

import html
import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from backend.core.geo import wgs84_to_gcj02
from backend.core.models import Event
from dispatch import services
from dispatch.models import JobOffer, OperatorAlert, ServiceRequest, Visit
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db

NAME, ADDRESS = "王秀英", "朝阳区幸福路8号3单元"
DOOR = f.offset(f.HOME, east_m=10)


def signed_in(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def accepted(operator, elder, worker, capture, service: str = "meal") -> int:
    with capture(execute=True):
        sr = (
            api(operator)
            .post("/api/v1/requests/", {"elder": elder.pk, "service_type": service}, format="json")
            .json()["id"]
        )
    offer = JobOffer.objects.get(request_id=sr, worker=worker)
    assert api(worker.user).post(f"/api/v1/offers/{offer.pk}/accept/").status_code == 200
    return sr


@pytest.fixture
def named_elder(elder):
    elder.full_name, elder.address = NAME, ADDRESS
    elder.save(update_fields=["full_name", "address"])
    return elder


@pytest.fixture
def job(operator, named_elder, make_worker, django_capture_on_commit_callbacks):
    worker = make_worker(east_m=30)
    return accepted(operator, named_elder, worker, django_capture_on_commit_callbacks), worker


def config(page, block: str = "visit-config") -> dict:
    """The page's settings for visit.js (or, `visits-config`, for visits.js on every page),
    from its JSON block."""
    found = re.search(
        rf'<script id="{block}" type="application/json">(.*?)</script>',
        page.content.decode(),
        re.S,
    )
    assert found is not None
    return json.loads(found.group(1))


def position(point=DOOR, **extra) -> str:
    return json.dumps({"location": {"type": "Point", "coordinates": list(point.coords)}, **extra})


def post_visit(client, url, body, *, key=None, csrf=None):
    headers = {}
    if key:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    if csrf:
        headers["HTTP_X_CSRFTOKEN"] = csrf
    return client.post(url, body, content_type="application/json", **headers)


def test_the_job_page_shows_the_elder_a_call_link_and_map_links(job, named_elder):
    sr, worker = job

    page = signed_in(worker.user).get(f"/worker/jobs/{sr}/")

    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert NAME in text and ADDRESS in text
    assert f'href="tel:{named_elder.phone}"' in text
    lng, lat = f.HOME
    g_lng, g_lat = wgs84_to_gcj02(lng, lat)
    amap = re.search(r'href="(https://uri\.amap\.com/marker\?[^"]+)"', text)
    assert amap is not None
    assert f"position={g_lng:.6f}%2C{g_lat:.6f}" in amap.group(1)
    assert "coordinate=gaode" in amap.group(1)
    assert f'href="geo:{lat:.6f},{lng:.6f}?q={lat:.6f},{lng:.6f}(' in text
    assert (g_lng, g_lat) != (lng, lat), "Amap's link is converted, geo: is not"
    assert 'data-visit="check_in"' in text and f"/worker/jobs/{sr}/set-out/" in text
    assert 'data-visit="check_out"' not in text


def test_today_links_each_job_to_its_page(job):
    sr, worker = job

    home = signed_in(worker.user).get("/worker/").content.decode()

    assert f'href="/worker/jobs/{sr}/"' in home


def test_another_workers_job_is_not_found_and_staff_are_refused(job, district, operator):
    sr, _worker = job
    stranger = f.WorkerFactory(provider=f.ProviderFactory(district=district))

    page = signed_in(stranger.user).get(f"/worker/jobs/{sr}/")
    set_out = signed_in(stranger.user).post(f"/worker/jobs/{sr}/set-out/")
    check_in = post_visit(signed_in(stranger.user), f"/worker/jobs/{sr}/check-in/", position())
    by_staff = signed_in(operator).get(f"/worker/jobs/{sr}/")
    staff_check_in = post_visit(signed_in(operator), f"/worker/jobs/{sr}/check-in/", position())
    anonymous = Client().get(f"/worker/jobs/{sr}/")

    assert page.status_code == set_out.status_code == check_in.status_code == 404
    assert NAME not in page.content.decode() + check_in.content.decode()
    assert by_staff.status_code == staff_check_in.status_code == 403
    assert anonymous.status_code == 302 and "/worker/sign-in/" in anonymous["Location"]
    assert ServiceRequest.objects.get(pk=sr).state == "assigned"


def test_set_out_moves_the_job_on_the_way_once(job):
    sr, worker = job
    client = signed_in(worker.user)

    first = client.post(f"/worker/jobs/{sr}/set-out/", {"idempotency_key": "tap-1"})
    again = client.post(f"/worker/jobs/{sr}/set-out/", {"idempotency_key": "tap-1"})

    assert first.status_code == again.status_code == 302
    assert ServiceRequest.objects.get(pk=sr).state == "en_route"
    assert Event.objects.filter(subject_id=sr, kind="request.en_route").count() == 1
    page = client.get(f"/worker/jobs/{sr}/").content.decode()
    assert "/set-out/" not in page and 'data-visit="check_in"' in page


def test_a_second_set_out_is_a_409_in_a_sentence(job, english):
    sr, worker = job
    client = signed_in(worker.user)
    client.post(f"/worker/jobs/{sr}/set-out/")

    response = client.post(f"/worker/jobs/{sr}/set-out/")

    assert response.status_code == 409
    assert 'class="notice refused"' in response.content.decode()


def test_check_in_with_the_session_and_csrf_is_counted_once_per_key(job):
    sr, worker = job
    client = signed_in(worker.user, csrf=True)
    page = client.get(f"/worker/jobs/{sr}/")
    url = config(page)["urls"]["check_in"]
    csrf = config(page, "visits-config")["csrf"]
    body = position(client_at=timezone.now().isoformat())

    first = post_visit(client, url, body, key="visit-key-1", csrf=csrf)
    replay = post_visit(client, url, body, key="visit-key-1", csrf=csrf)

    assert first.status_code == replay.status_code == 201, first.content
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Visit.objects.filter(request_id=sr).count() == 1
    assert Event.objects.filter(subject_id=sr, kind="request.on_site").count() == 1
    assert Visit.objects.get(request_id=sr).client_checked_in_at is not None


def test_a_post_without_the_csrf_token_changes_nothing(job):
    sr, worker = job
    client = signed_in(worker.user, csrf=True)

    response = post_visit(client, f"/worker/jobs/{sr}/check-in/", position(), key="k")

    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
    assert not Visit.objects.filter(request_id=sr).exists()


def test_outside_the_geofence_the_refusal_has_the_distance_then_a_reason_records_it(job, english):
    sr, worker = job
    client = signed_in(worker.user)
    away = f.offset(f.HOME, north_m=400)
    page = client.get(f"/worker/jobs/{sr}/").content.decode()

    refused = post_visit(client, f"/worker/jobs/{sr}/check-in/", position(away), key="a")
    recorded = post_visit(
        client,
        f"/worker/jobs/{sr}/check-in/",
        position(away, exception_reason="gps_drift"),
        key="b",
    )

    assert '<option value="gps_drift">The phone&#x27;s position is off</option>' in page
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "outside_geofence"
    assert error["distance_m"] == pytest.approx(400, abs=10)
    assert recorded.status_code == 201
    visit = Visit.objects.get(request_id=sr)
    assert (visit.exception_reason, visit.exception_state) == ("gps_drift", "pending")


def test_a_bad_body_is_a_400_naming_the_field(job):
    sr, worker = job

    response = post_visit(
        signed_in(worker.user),
        f"/worker/jobs/{sr}/check-in/",
        position(client_at="yesterday-ish"),
    )

    assert response.status_code == 400
    assert "client_at" in response.json()["error"]["fields"]


def test_a_welfare_check_out_shows_the_outcomes_by_label_and_requires_one(
    operator, named_elder, make_worker, english, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30, skills=["welfare_check"])
    sr = accepted(
        operator, named_elder, worker, django_capture_on_commit_callbacks, "welfare_check"
    )
    client = signed_in(worker.user)
    post_visit(client, f"/worker/jobs/{sr}/check-in/", position())
    page = client.get(f"/worker/jobs/{sr}/").content.decode()

    missing = post_visit(client, f"/worker/jobs/{sr}/check-out/", position())
    done = post_visit(
        client, f"/worker/jobs/{sr}/check-out/", position(welfare_outcome="seen_well")
    )

    assert '<option value="seen_well">Seen and well</option>' in page
    assert 'data-visit="check_out"' in page
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "welfare_outcome_required"
    assert done.status_code == 200, done.content
    assert Visit.objects.get(request_id=sr).welfare_outcome == "seen_well"
    assert ServiceRequest.objects.get(pk=sr).state == "completed"


def test_a_check_out_sent_late_is_flagged_with_its_phone_time(job, settings):
    sr, worker = job
    client = signed_in(worker.user)
    post_visit(client, f"/worker/jobs/{sr}/check-in/", position())
    late = timezone.now() - timedelta(minutes=settings.ANXIN["CLIENT_TIME_GAP_M"] + 3)

    response = post_visit(
        client, f"/worker/jobs/{sr}/check-out/", position(client_at=late.isoformat()), key="x"
    )

    assert response.status_code == 200
    assert response.json()["verified"] is False
    visit = Visit.objects.get(request_id=sr)
    assert visit.client_checked_out_at == late
    assert visit.exception_reason == "late_sync"


def test_a_check_in_queued_past_the_no_show_is_a_409_and_the_operators_are_alerted(
    job, english, django_capture_on_commit_callbacks
):
    sr, worker = job
    ServiceRequest.objects.filter(pk=sr).update(
        window_start=timezone.now() - timedelta(hours=2),
        window_end=timezone.now() - timedelta(minutes=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.request_no_show(request_id=sr)
    client = signed_in(worker.user)
    kept_since = timezone.now() - timedelta(minutes=30)

    response = post_visit(
        client,
        f"/worker/jobs/{sr}/check-in/",
        position(client_at=kept_since.isoformat()),
        key="kept-on-the-phone",
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "treated_as_no_show"
    assert "treated as a no-show at" in error["message"]
    late = Event.objects.get(kind="visit.late_check_in", subject_id=sr)
    assert late.data["client_at"] == kept_since.isoformat()
    assert late.data["worker"] == worker.pk
    assert OperatorAlert.objects.filter(request_id=sr, kind="late_check_in").count() == 1
    assert not Visit.objects.filter(request_id=sr).exists()
    assert client.get(f"/worker/jobs/{sr}/").status_code == 404, "no longer the worker's job"
