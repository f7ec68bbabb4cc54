"""The providers' monthly quality (dispatch/quality.py, GET /api/v1/figures/quality/) on a small
district known by hand: a provider's score by the formula, the threshold list, the month's
edges in Shanghai, the blacklist's history (GET /api/v1/sanctions/), and another district's
admin seeing none of it."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.quality import provider_quality, quality_score
from providers.models import CreditEvent, Sanction
from tests import factories as f
from tests.conftest import api

from .oversight_world import S, complaint, local, rating, visit, work_order

pytestmark = pytest.mark.django_db

JANUARY = local(1, 15, 12).date()


def credit(provider, kind: str, delta: str, at, reference: str) -> None:
    made = CreditEvent.objects.create(
        provider=provider, kind=kind, delta=Decimal(delta), reference=reference
    )
    CreditEvent.objects.filter(pk=made.pk).update(at=at)


@pytest.fixture
def world(district, elder, family):
    """Good: three punctual verified visits rated 5, 4 and 2, one unverified, an upheld
    complaint, praise and a no-show (and the kinds the score counts otherwise). Late: one visit
    late, checked in at 23:30 on 31 January, unrated; another on 1 February 00:30 (February's).
    Idle: no visit at all."""
    good = f.WorkerFactory(provider=f.ProviderFactory(district=district, name="Good"))
    late = f.WorkerFactory(provider=f.ProviderFactory(district=district, name="Late"))
    idle = f.ProviderFactory(district=district, name="Idle")
    made = []
    for day, stars in [(5, 5), (6, 4), (7, 2)]:
        at = local(1, day, 10)
        sr = work_order(elder, at, worker=good, accepted_at=at + 60 * S, arrived_at=at + 600 * S)
        visit(sr, good)
        rating(sr, stars, at + 3600 * S, family)
        made.append(sr)
    at = local(1, 8, 10)
    rejected = work_order(elder, at, worker=good, accepted_at=at, arrived_at=at + 7200 * S)
    visit(rejected, good, exception_state="rejected")
    complaint(made[2], local(1, 7, 20), state="upheld", decided_at=local(1, 9, 9))
    complaint(made[1], local(1, 6, 20), state="dismissed", decided_at=local(1, 9, 9))
    provider = good.provider
    credit(provider, "praise", "1.0", local(1, 10, 9), "request:a")
    credit(provider, "no_show", "-5.0", local(1, 12, 9), "request:b")
    credit(provider, "late_arrival", "-2.0", local(1, 12, 9), "request:c")  # punctuality's
    credit(provider, "upheld_complaint", "-10.0", local(1, 9, 9), "complaint:1")  # counted
    credit(provider, "praise", "1.0", local(2, 1, 0, 30), "request:d")  # February's
    at = local(1, 31, 23)
    sr = work_order(
        elder, at, worker=late, arrive_due_at=local(1, 31, 23, 15), arrived_at=local(1, 31, 23, 30)
    )
    visit(sr, late)
    at = local(2, 1, 0, 30)
    sr = work_order(elder, at, worker=late, arrived_at=at + 600 * S)
    visit(sr, late)
    return {"good": good.provider, "late": late.provider, "idle": idle}


def test_the_formula():
    # 60 × 3/3 + 40 × (11/3 − 1)/4 − 10 × 1 + (1 − 5) = 60 + 26.67 − 10 − 4 = 72.67 → 72.7
    assert quality_score(
        visits=3, punctual=3, rating_mean=Decimal(11) / 3, upheld_complaints=1, credit=Decimal(-4)
    ) == Decimal("72.7")
    # No rating counts three stars (20 points); the score stays within 0 and 100.
    assert quality_score(
        visits=2, punctual=1, rating_mean=None, upheld_complaints=0, credit=Decimal(0)
    ) == Decimal("50.0")
    assert quality_score(
        visits=1, punctual=0, rating_mean=None, upheld_complaints=3, credit=Decimal(0)
    ) == Decimal("0.0")
    assert quality_score(
        visits=1, punctual=1, rating_mean=Decimal(5), upheld_complaints=0, credit=Decimal(9)
    ) == Decimal("100.0")
    assert (
        quality_score(
            visits=0, punctual=0, rating_mean=None, upheld_complaints=0, credit=Decimal(1)
        )
        is None
    )


def test_a_month_of_the_district(world, district):
    report = provider_quality(district_id=district.pk, month=JANUARY)

    rows = {row.name: row for row in report.providers}
    good, late, idle = rows["Good"], rows["Late"], rows["Idle"]
    assert (good.visits, good.punctual, good.ratings, good.upheld_complaints) == (3, 3, 3, 1)
    assert (good.rating_mean, good.credit, good.score) == (
        Decimal("3.67"),
        Decimal("-4.0"),
        Decimal("72.7"),
    )
    # Checked in at 23:30 on 31 January, Shanghai time (15:30 UTC): January's (the 00:30 one
    # is February's). Due by 23:15: not punctual; no rating counts three stars: 0 + 20 = 20.
    assert (late.visits, late.punctual, late.score, late.below) == (1, 0, Decimal("20.0"), True)
    assert (idle.visits, idle.score, idle.below) == (0, None, False)
    assert [row.name for row in report.providers] == ["Late", "Good", "Idle"]
    assert report.threshold == Decimal(60)
    assert [row.name for row in report.below] == ["Late"]


def test_the_providers_below_the_threshold(world, district, settings):
    settings.ANXIN = {**settings.ANXIN, "QUALITY_THRESHOLD": 75}

    report = provider_quality(district_id=district.pk, month=JANUARY)

    assert [row.name for row in report.below] == ["Late", "Good"]  # 72.7 < 75; Idle: no score


def test_four_queries_whatever_the_number_of_providers(world, district):
    with CaptureQueriesContext(connection) as queries:
        provider_quality(district_id=district.pk, month=JANUARY)

    assert len(queries) == 4


def test_the_api_for_the_district_admin(world, district, settings):
    settings.ANXIN = {**settings.ANXIN, "QUALITY_THRESHOLD": 75}
    admin = f.UserFactory(role="district_admin", district=district)

    body = api(admin).get("/api/v1/figures/quality/", {"month": "2026-01"}).json()

    assert (body["month"], body["threshold"]) == ("2026-01", "75.0")
    assert body["below"] == [world["late"].pk, world["good"].pk]
    first = body["providers"][1]
    assert (first["name"], first["score"], first["punctuality"], first["rating_mean"]) == (
        "Good",
        "72.7",
        1.0,
        "3.67",
    )


def test_another_districts_admin_sees_none(world, district):
    other = f.UserFactory(role="district_admin", district=f.DistrictFactory())

    body = api(other).get("/api/v1/figures/quality/", {"month": "2026-01"}).json()

    assert body["providers"] == [] and body["below"] == []


@pytest.mark.parametrize("month", ["2026-13", "2999-01", "January"])
def test_a_bad_month_is_named(district, month):
    admin = f.UserFactory(role="district_admin", district=district)

    answer = api(admin).get("/api/v1/figures/quality/", {"month": month})

    assert answer.status_code == 400
    assert set(answer.json()["error"]["fields"]) == {"month"}


def test_the_blacklist_and_its_history(world, district):
    admin = f.UserFactory(role="district_admin", district=district)
    provider = world["late"]
    client = api(admin)
    client.post(
        f"/api/v1/providers/{provider.pk}/sanctions/",
        {"kind": "warning", "reason": "迟到多次"},
        format="json",
    )
    client.post(
        f"/api/v1/providers/{provider.pk}/sanctions/",
        {"kind": "blacklist", "reason": "伪造服务记录"},
        format="json",
    )
    elsewhere = f.ProviderFactory(district=f.DistrictFactory())
    Sanction.objects.create(provider=elsewhere, kind="blacklist", reason="x", decided_by=admin)

    history = client.get("/api/v1/sanctions/").json()["results"]
    blacklist = client.get("/api/v1/sanctions/", {"kind": "blacklist"}).json()["results"]

    assert [(s["kind"], s["provider"]) for s in history] == [
        ("blacklist", provider.pk),
        ("warning", provider.pk),
    ]
    assert [(s["provider_name"], s["provider_status"]) for s in blacklist] == [
        ("Late", "blacklisted")
    ]


def test_the_sanctions_are_not_for_families_or_workers(world, family):
    assert api(family).get("/api/v1/sanctions/").status_code == 403
