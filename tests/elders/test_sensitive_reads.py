"""Ability assessments and the care plan's notes are read like health notes: with a purpose (or,
for a worker, the job that grants access), and every read leaves an access-log row."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from elders import services
from elders.models import AccessLog, CareNeed
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db

NOTE = "knock twice; she is hard of hearing, key with neighbour in 302"


@pytest.fixture
def file(registered, operator):
    services.assessment_record(
        elder=registered,
        actor=operator,
        assessed_on=date(2026, 1, 5),
        assessor_name="评估员 张",
        self_care=20,
        basic_motor=10,
        mental_state=25,
        perception_social=10,
        notes="confused in the evenings",
    )
    CareNeed.objects.create(
        elder=registered,
        service_code="meal",
        rrule="FREQ=DAILY;BYHOUR=11;BYMINUTE=30",
        starts_on=date(2026, 12, 1),
        notes=NOTE,
    )
    return registered


@pytest.mark.parametrize("part", ["assessments", "care-needs"])
@pytest.mark.parametrize("role", ["operator", "family"])
def test_reading_assessments_or_the_care_plan_needs_a_purpose(role, part, file, user_of):
    user = user_of(role)
    if role == "family":
        f.ContactFactory(elder=file, user=user)

    response = api(user).get(f"/api/v1/elders/{file.pk}/{part}/")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["purpose"]
    assert not AccessLog.objects.exists()


@pytest.mark.parametrize(
    ("part", "field", "shows"),
    [("assessments", "assessments", "confused in the evenings"), ("care-needs", "care_plan", NOTE)],
)
def test_each_read_is_logged_with_who_and_why(part, field, shows, file, operator):
    response = api(operator).get(
        f"/api/v1/elders/{file.pk}/{part}/", {"purpose": "caller asks about lunch"}
    )

    assert response.status_code == 200 and shows in str(response.json())
    log = AccessLog.objects.get()
    assert (log.user, log.elder, log.field, log.purpose) == (
        operator,
        file,
        field,
        "caller asks about lunch",
    )


def test_a_workers_care_plan_read_is_logged_with_the_job_that_grants_it(file, make_worker):
    worker = make_worker()
    services.access_grant_issue(
        elder_id=file.pk,
        user_id=worker.user.pk,
        purpose="Meal job 261201-000001",
        reference="request:42",
        expires_at=timezone.now() + timedelta(hours=1),
    )

    response = api(worker.user).get(f"/api/v1/elders/{file.pk}/care-needs/")

    assert response.status_code == 200 and NOTE in str(response.json())
    log = AccessLog.objects.get()
    assert (log.user, log.field) == (worker.user, "care_plan")
    assert log.purpose.startswith("request:42: Meal job")


@pytest.mark.parametrize("role", ["operator", "family", "supervisor", "worker"])
def test_the_file_shows_the_care_plan_without_its_notes(role, file, user_of, make_worker):
    if role == "worker":
        user = make_worker().user
        services.access_grant_issue(
            elder_id=file.pk,
            user_id=user.pk,
            purpose="Meal job",
            reference="request:43",
            expires_at=timezone.now() + timedelta(hours=1),
        )
    else:
        user = user_of(role)
    if role == "family":
        f.ContactFactory(elder=file, user=user)

    body = api(user).get(f"/api/v1/elders/{file.pk}/").json()

    assert [n["service_code"] for n in body["care_needs"]] == ["meal"]
    assert NOTE not in str(body) and "confused" not in str(body)
    assert not AccessLog.objects.exists()


def test_the_access_log_lists_these_reads(file, operator, user_of):
    api(operator).get(f"/api/v1/elders/{file.pk}/assessments/", {"purpose": "subsidy review"})
    api(operator).get(f"/api/v1/elders/{file.pk}/care-needs/", {"purpose": "plan a bath"})

    rows = api(user_of("supervisor")).get(f"/api/v1/elders/{file.pk}/access-log/").json()

    assert {(r["field"], r["purpose"]) for r in rows["results"]} == {
        ("assessments", "subsidy review"),
        ("care_plan", "plan a bath"),
    }
