"""The request panel through Django's test client: what it shows (the request, its clocks, the
ranked candidates, the timeline in Shanghai time), who may open it, and each action (dispatch to
a candidate, a named worker with a reason, the ladder again, an ending with its outcome), each
the API's own service, each refusal the panel with the reason in a 4xx."""

import json
import re

import pytest

from backend.core.models import Event
from dispatch import services
from dispatch.models import JobOffer, OfferState, RequestState, ServiceRequest
from elders.models import AccessLog
from tests import factories as f
from tests.conftest import admin_login, api
from tests.dispatch.test_care_notes_read import planned_job

pytestmark = pytest.mark.django_db


def create(user, elder, capture, service="meal", **extra):
    body = {"elder": elder.pk, "service_type": service, **extra}
    with capture(execute=True):
        answer = api(user).post("/api/v1/requests/", body, format="json")
    assert answer.status_code == 201, answer.json()
    return ServiceRequest.objects.get(pk=answer.json()["id"])


def panel(client, sr) -> str:
    answer = client.get(f"/console/requests/{sr.pk}/", HTTP_HX_REQUEST="true")
    assert answer.status_code == 200, answer.content
    return answer.content.decode()


def post(client, sr, action, capture, **fields):
    with capture(execute=True):
        return client.post(f"/console/requests/{sr.pk}/{action}/", fields, HTTP_HX_REQUEST="true")


def candidate_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'class="candidate" data-worker="(\d+)"', html)]


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def test_the_panel_shows_the_request_its_targets_and_its_candidates_best_first(
    operator, elder, make_worker, capture
):
    near, far = make_worker(east_m=100), make_worker(east_m=2500)
    sr = create(operator, elder, capture, notes="钥匙在门垫下")

    html = panel(admin_login(operator), sr)

    assert sr.reference in html and elder.full_name in html and "钥匙在门垫下" in html
    assert candidate_ids(html) == [near.pk, far.pk]
    assert html.count('data-clock="countdown"') == 2  # accepted by, on site by
    assert 'data-refresh-on="request. offer. visit. alert.' in html
    assert f'data-refresh-subject="request:{sr.pk}"' in html
    assert f'id="request-panel-{sr.pk}"' in html
    assert "+08:00" in html  # times in Asia/Shanghai


def test_dispatch_gives_the_job_to_the_chosen_candidate_and_withdraws_the_offers(
    operator, elder, make_worker, capture
):
    near, far = make_worker(east_m=100), make_worker(east_m=2500)
    sr = create(operator, elder, capture)  # offered to the nearest (one offer per round)
    client = admin_login(operator)

    answer = post(client, sr, "dispatch", capture, worker=far.pk, idempotency_key="d-1")

    sr.refresh_from_db()
    assert answer.status_code == 200, answer.content
    assert (sr.state, sr.assigned_worker_id) == (RequestState.ASSIGNED, far.pk)
    assert JobOffer.objects.get(worker=near).state == OfferState.WITHDRAWN
    assigned = Event.objects.get(subject_type="request", subject_id=sr.pk, kind="request.assigned")
    assert assigned.actor == operator
    assert assigned.data | {"reason": "ranked_candidate", "rank": 2} == assigned.data
    assert "candidate-list" not in answer.content.decode()  # nobody to choose any more


def test_dispatch_sent_twice_with_its_key_dispatches_once(operator, elder, make_worker, capture):
    worker = make_worker(east_m=100)
    sr = create(operator, elder, capture)
    client = admin_login(operator)

    first = post(client, sr, "dispatch", capture, worker=worker.pk, idempotency_key="d-2")
    again = post(client, sr, "dispatch", capture, worker=worker.pk, idempotency_key="d-2")

    assert first.status_code == again.status_code == 200
    assert "Already done" in again.content.decode() or "已经" in again.content.decode()
    assert Event.objects.filter(subject_id=sr.pk, kind="request.assigned").count() == 1


def test_a_worker_who_is_no_longer_a_candidate_is_refused_with_the_reason(
    operator, elder, make_worker, capture
):
    worker = make_worker(east_m=100)
    sr = create(operator, elder, capture)
    worker.shift_state = "off"
    worker.save()
    f.place_worker(worker, f.offset(f.HOME, 100))  # the position row follows the shift

    answer = post(admin_login(operator), sr, "dispatch", capture, worker=worker.pk)

    sr.refresh_from_db()
    assert answer.status_code == 409
    assert 'role="alert"' in answer.content.decode()
    assert sr.state == RequestState.OFFERED and sr.assigned_worker_id is None


def test_an_operator_names_a_worker_past_matching_with_a_reason(
    operator, elder, make_worker, capture
):
    make_worker(east_m=100)
    regular = make_worker(east_m=3000, skills=["cleaning"])  # no meal skill: not a candidate
    sr = create(operator, elder, capture)
    client = admin_login(operator)

    html = panel(client, sr)
    no_reason = post(client, sr, "assign", capture, worker=regular.pk, reason="")
    assigned = post(client, sr, "assign", capture, worker=regular.pk, reason="她只给张开门")

    sr.refresh_from_db()
    assert f'<option value="{regular.pk}">' in html  # on shift in the district: in the list
    assert no_reason.status_code == 400 and "reason" in no_reason.content.decode()
    assert assigned.status_code == 200
    assert sr.assigned_worker_id == regular.pk
    event = Event.objects.get(subject_id=sr.pk, kind="request.assigned")
    assert event.data["reason"] == "她只给张开门"


def test_queued_work_goes_back_to_matching_once_however_often_the_form_is_sent(
    operator, elder, capture
):
    sr = create(operator, elder, capture)  # nobody in the district: straight to the queue
    client = admin_login(operator)
    assert sr.state == RequestState.ESCALATED and "/retry/" in panel(client, sr)

    first = post(client, sr, "retry", capture, idempotency_key="r-1")
    again = post(client, sr, "retry", capture, idempotency_key="r-1")

    assert first.status_code == again.status_code == 200
    rounds = Event.objects.filter(subject_id=sr.pk, kind="request.matching")
    assert rounds.count() == 2  # intake's, and this one (it went back to the queue at once)
    assert ServiceRequest.objects.get(pk=sr.pk).state == RequestState.ESCALATED


def _completed_emergency(operator, elder, worker, capture) -> ServiceRequest:
    sr = create(operator, elder, capture, service="emergency")
    offer = JobOffer.objects.get(request=sr, worker=worker)
    with capture(execute=True):
        services.offer_accept(offer_id=offer.pk, user=worker.user)
        services.visit_check_in(request_id=sr.pk, user=worker.user, point=f.point(*f.HOME))
        services.visit_check_out(request_id=sr.pk, user=worker.user, point=f.point(*f.HOME))
    sr.refresh_from_db()
    assert sr.state == RequestState.COMPLETED
    return sr


def test_an_emergency_closes_only_with_its_outcome_and_the_operator_answers_for_it(
    operator, elder, make_worker, capture
):
    sr = _completed_emergency(operator, elder, make_worker(east_m=50), capture)
    client = admin_login(operator)
    html = panel(client, sr)

    without = post(client, sr, "close", capture, outcome="", note="")
    wrong = post(client, sr, "close", capture, outcome="false_alarm")
    closed = post(client, sr, "close", capture, outcome="ambulance", note="送市医院")

    sr.refresh_from_db()
    assert 'value="ambulance"' in html and 'value="false_alarm"' not in html
    assert without.status_code == 422 and 'role="alert"' in without.content.decode()
    assert wrong.status_code == 400
    assert closed.status_code == 200
    assert (sr.state, sr.outcome, sr.responsible) == (RequestState.CLOSED, "ambulance", operator)


def test_an_escalated_emergency_ends_with_its_outcome_when_nobody_goes(operator, elder, capture):
    sr = create(operator, elder, capture, service="emergency")
    assert sr.state == RequestState.ESCALATED

    answer = post(admin_login(operator), sr, "fail", capture, outcome="ambulance")

    sr.refresh_from_db()
    assert answer.status_code == 200
    assert (sr.state, sr.outcome, sr.responsible) == (RequestState.FAILED, "ambulance", operator)


def test_an_action_the_state_does_not_allow_is_a_409_in_the_panel_never_a_500(
    operator, elder, make_worker, capture
):
    worker = make_worker(east_m=100)
    sr = create(operator, elder, capture)  # offered: nothing to close yet
    client = admin_login(operator)

    close = post(client, sr, "close", capture, outcome="served")
    junk = post(client, sr, "dispatch", capture, worker="abc")
    retry = post(client, sr, "retry", capture)

    assert close.status_code == 409 and 'role="alert"' in close.content.decode()
    assert junk.status_code == 400 and "worker" in junk.content.decode()
    assert retry.status_code == 409
    assert f'data-worker="{worker.pk}"' in close.content.decode()  # the panel, as it is


def test_the_timeline_lists_what_happened_in_order_with_who_and_when(
    operator, elder, make_worker, capture
):
    worker = make_worker(east_m=100)
    sr = create(operator, elder, capture)
    client = admin_login(operator)
    post(client, sr, "dispatch", capture, worker=worker.pk)

    html = panel(client, sr)
    timeline = html[html.index('class="timeline"') :]
    times = re.findall(r'<time datetime="([^"]+)"', timeline)

    assert len(times) >= 5  # logged, matching, offered (the offer), assigned (its withdrawal)
    assert times == sorted(times) and all(t.endswith("+08:00") for t in times)
    assert operator.username in timeline and worker.full_name in timeline


def test_the_duplicate_flag_links_to_the_request_it_may_duplicate(operator, elder, capture):
    first = create(operator, elder, capture)
    second = create(operator, elder, capture)

    html = panel(admin_login(operator), second)

    assert first.reference in html
    assert f'hx-get="/console/requests/{first.pk}/"' in html


def test_another_districts_request_is_not_found_and_not_touched(
    operator, elder, make_worker, capture
):
    worker = make_worker(east_m=100)
    sr = create(operator, elder, capture)
    stranger = f.UserFactory(role="operator")  # staff of another district

    client = admin_login(stranger)
    seen = client.get(f"/console/requests/{sr.pk}/", HTTP_HX_REQUEST="true")
    acted = post(client, sr, "dispatch", capture, worker=worker.pk)

    sr.refresh_from_db()
    assert seen.status_code == acted.status_code == 404
    assert elder.full_name not in seen.content.decode()
    assert sr.state == RequestState.OFFERED


@pytest.mark.parametrize("role", ["family", "worker", "provider_admin"])
def test_the_panel_is_for_district_staff_only(operator, elder, capture, role):
    sr = create(operator, elder, capture)
    user = f.UserFactory(role=role)

    answer = admin_login(user).get(f"/console/requests/{sr.pk}/", HTTP_HX_REQUEST="true")

    assert answer.status_code in (401, 403)
    assert elder.full_name not in answer.content.decode()


@pytest.mark.parametrize("role", ["supervisor", "district_admin"])
def test_supervisors_and_district_administrators_dispatch_too(
    operator, elder, make_worker, capture, role, district
):
    worker = make_worker(east_m=100)
    sr = create(operator, elder, capture)
    staff = f.UserFactory(role=role, district=district)

    answer = post(admin_login(staff), sr, "dispatch", capture, worker=worker.pk)

    assert answer.status_code == 200
    assert ServiceRequest.objects.get(pk=sr.pk).assigned_worker_id == worker.pk


def test_the_small_map_has_the_elder_and_the_candidates(operator, elder, make_worker, capture):
    near = make_worker(east_m=100)
    sr = create(operator, elder, capture)

    html = panel(admin_login(operator), sr)
    data = re.search(
        rf'<script id="request-map-{sr.pk}" type="application/json">(.*?)</script>', html
    )

    points = json.loads(data.group(1))
    assert points["elder"] == [pytest.approx(f.HOME[0]), pytest.approx(f.HOME[1])]
    assert [c["rank"] for c in points["candidates"]] == [1]
    assert points["candidates"][0]["name"] == near.full_name
    assert points["config"]["crs"] == "wgs84"


def test_care_notes_shown_on_the_panel_are_access_logged_as_on_the_api(operator, elder, capture):
    with capture(execute=True):
        sr = planned_job(elder)

    html = panel(admin_login(operator), sr)

    assert sr.notes in html
    row = AccessLog.objects.get(user=operator, elder=elder, field="care_plan")
    assert row.purpose.startswith(f"request:{sr.pk}")
