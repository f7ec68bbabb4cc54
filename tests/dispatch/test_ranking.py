from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import ElderPreference, JobOffer, Visit
from tests.conftest import api

pytestmark = pytest.mark.django_db


def create(operator, elder, capture):
    with capture(execute=True):
        response = api(operator).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": "cleaning"}, format="json"
        )
    return response.json()["id"]


def served_before(worker, elder):
    from dispatch.models import ServiceRequest, ServiceType

    then = timezone.now() - timedelta(days=7)
    sr = ServiceRequest.objects.create(
        district=elder.district,
        elder=elder,
        service_type=ServiceType.objects.get(code="meal"),
        channel="operator",
        priority="routine",
        window_start=then,
        window_end=then + timedelta(hours=1),
        match_at=then,
        accept_due_at=then,
        arrive_due_at=then + timedelta(hours=1),
        state="closed",
        assigned_worker=worker,
        reference=f"old-{worker.pk}",
    )
    Visit.objects.create(
        request=sr,
        worker=worker,
        elder=elder,
        service_type=sr.service_type,
        checked_in_at=then,
        check_in_point=elder.location,
        check_in_distance_m=5,
        checked_out_at=then + timedelta(minutes=50),
        state="completed",
    )


def first_offer(sr_id):
    return JobOffer.objects.filter(request_id=sr_id).order_by("rank").first().worker_id


def test_the_usual_caregiver_300_m_farther_is_offered_first_when_continuity_weighs_enough(
    operator, elder, make_worker, django_capture_on_commit_callbacks, settings
):
    stranger = make_worker(east_m=100)
    usual = make_worker(east_m=400)
    served_before(usual, elder)

    settings.ANXIN = {
        **settings.ANXIN,
        "RANK_WEIGHTS": {**settings.ANXIN["RANK_WEIGHTS"], "continuity": 0.0},
    }
    without = first_offer(create(operator, elder, django_capture_on_commit_callbacks))
    settings.ANXIN = {
        **settings.ANXIN,
        "RANK_WEIGHTS": {**settings.ANXIN["RANK_WEIGHTS"], "continuity": 0.3},
    }
    with_weight = first_offer(create(operator, elder, django_capture_on_commit_callbacks))

    assert (without, with_weight) == (stranger.pk, usual.pk)


def test_refused_workers_and_the_wrong_gender_are_never_offered(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    refused = make_worker(east_m=50, gender="female")
    man = make_worker(east_m=80, gender="male")
    woman = make_worker(east_m=900, gender="female")
    pref = ElderPreference.objects.create(elder=elder, preferred_gender="female")
    pref.refused_workers.add(refused)

    assert first_offer(create(operator, elder, django_capture_on_commit_callbacks)) == woman.pk
    assert man.pk


def test_explain_shows_every_term_of_every_candidate(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    near = make_worker(east_m=100)
    far = make_worker(east_m=2500)
    sr_id = create(operator, elder, django_capture_on_commit_callbacks)

    body = api(operator).get(f"/api/v1/requests/{sr_id}/explain/").json()

    rows = {c["worker"]: c for c in body["candidates"]}
    assert [c["worker"] for c in body["candidates"]] == [near.pk, far.pk]
    assert rows[near.pk]["terms"]["distance"]["value"] == pytest.approx(0.98, abs=0.005)

    some = next(iter(rows.values()))
    assert set(some["terms"]) == {"distance", "continuity", "rating", "fairness"}
    assert some["score"] == pytest.approx(
        sum(t["contribution"] for t in some["terms"].values()), abs=1e-3
    )
    assert api(near.user).get(f"/api/v1/requests/{sr_id}/explain/").status_code in (403, 404)
