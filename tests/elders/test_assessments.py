from datetime import date, timedelta

import pytest

from elders.assessment import barthel_errors, gb_level
from elders.models import CareLevel, Elder
from tests.conftest import api

pytestmark = pytest.mark.django_db

FULL_BARTHEL = {
    "feeding": 10,
    "bathing": 5,
    "grooming": 5,
    "dressing": 10,
    "bowels": 10,
    "bladder": 10,
    "toilet_use": 10,
    "transfers": 15,
    "mobility": 15,
    "stairs": 10,
}


@pytest.mark.parametrize(
    ("total", "level"),
    [
        (90, CareLevel.INTACT),
        (89, CareLevel.MILD),
        (66, CareLevel.MILD),
        (65, CareLevel.MODERATE),
        (46, CareLevel.MODERATE),
        (45, CareLevel.SEVERE),
        (30, CareLevel.SEVERE),
        (29, CareLevel.TOTAL),
        (0, CareLevel.TOTAL),
    ],
)
def test_gb_levels_follow_the_score_bands(total, level):
    assert gb_level(total) == level


def test_a_coma_is_total_loss_whatever_the_score():
    assert gb_level(90, unconscious=True) == CareLevel.TOTAL


@pytest.mark.usefixtures("english")
def test_barthel_items_take_only_their_allowed_scores():
    assert barthel_errors(FULL_BARTHEL) == {}
    assert barthel_errors({**FULL_BARTHEL, "bathing": 10, "stairs": 7}) == {
        "bathing": "must be one of 0, 5",
        "stairs": "must be one of 0, 5, 10",
    }
    assert "transfers" in barthel_errors(
        {k: v for k, v in FULL_BARTHEL.items() if k != "transfers"}
    )


def assess(client, elder, on, **scores):
    body = {
        "assessed_on": on.isoformat(),
        "assessor_name": "评估员 张",
        "self_care": 32,
        "basic_motor": 16,
        "mental_state": 30,
        "perception_social": 12,
        **scores,
    }
    return client.post(f"/api/v1/elders/{elder.pk}/assessments/", body, format="json")


def test_assessments_are_history_and_the_latest_sets_the_care_level(registered, operator):
    client = api(operator)
    last_year = date.today() - timedelta(days=300)

    first = assess(client, registered, last_year, barthel_items=FULL_BARTHEL)
    second = assess(client, registered, date.today(), self_care=10, basic_motor=6)
    older = assess(client, registered, last_year - timedelta(days=30), self_care=0)

    assert first.status_code == second.status_code == older.status_code == 201
    assert first.json()["barthel_total"] == 100 and first.json()["level"] == 0
    assert second.json()["total"] == 58 and second.json()["level"] == CareLevel.MODERATE
    elder = Elder.objects.get(pk=registered.pk)
    assert elder.care_level == CareLevel.MODERATE  # the older one does not win
    assert elder.next_assessment_due == date.today() + timedelta(days=365)
    history = client.get(
        f"/api/v1/elders/{registered.pk}/assessments/", {"purpose": "care review"}
    ).json()
    assert len(history) == 3 and history[0]["assessed_on"] == date.today().isoformat()


def test_out_of_range_scores_name_every_bad_field(registered, operator):
    response = assess(
        api(operator),
        registered,
        date.today(),
        self_care=33,
        mental_state=31,
        barthel_items={**FULL_BARTHEL, "feeding": 3},
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {
        "self_care",
        "mental_state",
        "barthel_items.feeding",
    }
