"""Response figures (dispatch/response_figures.py and GET /api/v1/figures/responses/) on a
small district known by hand: percentiles of a handful of known durations, exactly as
`percentile_cont` interpolates them, the shares within target, non-arrivals, exceptions,
ratings of verified visits only, complaints, the month boundary in Shanghai (23:30 on 31
January is January's, 00:30 on 1 February February's although UTC still says 31 January), the
filters, and another district's admin seeing none of it."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.response_figures import Scope, response_figures
from tests import factories as f
from tests.conftest import api

from .oversight_world import S, complaint, local, non_arrival, rating, visit, work_order

pytestmark = pytest.mark.django_db

NOW = local(2, 10, 12)
URL = "/api/v1/figures/responses/"


@pytest.fixture
def world(district, elder, family):
    """Five meal work orders in January by one provider's worker, one cleaning work order on
    1 February nobody took, and one of another district."""
    worker = f.WorkerFactory(provider=f.ProviderFactory(district=district))
    made = {}
    for name, at, accept_s, arrive_s in [
        ("r1", local(1, 5, 10), 60, 600),
        ("r2", local(1, 5, 11), 120, 900),
        ("r3", local(1, 6, 9), 180, 1800),
        ("r4", local(1, 6, 10), 240, 300),
    ]:
        made[name] = work_order(
            elder,
            at,
            worker=worker,
            accepted_at=at + accept_s * S,
            arrived_at=at + arrive_s * S,
            state="closed",
        )
    for name in ("r1", "r2", "r3"):
        visit(made[name], worker)
    visit(made["r4"], worker, exception_state="rejected")  # checked in far away: no arrival
    rating(made["r1"], 5, local(1, 5, 20), family)
    rating(made["r2"], 4, local(1, 5, 21), family)
    rating(made["r3"], 2, local(1, 6, 20), family)
    rating(made["r4"], 1, local(1, 6, 21), family)  # of an unverified visit: left out
    complaint(made["r3"], local(1, 6, 21), state="upheld", decided_at=local(1, 7, 9))
    at = local(1, 31, 23, 30)  # the last half hour of January in Shanghai
    made["r5"] = work_order(
        elder,
        at,
        worker=worker,
        accepted_at=at + 600 * S,
        arrive_missed_at=at + 60 * 60 * S,
        state="failed",
    )
    non_arrival(made["r5"])
    complaint(made["r5"], local(2, 1, 0, 10))  # February's, in Shanghai
    made["r6"] = work_order(elder, local(2, 1, 0, 30), service="cleaning", state="cancelled")
    elsewhere = f.ElderFactory(district=f.DistrictFactory())
    work_order(elsewhere, local(1, 5, 10), accepted_at=local(1, 5, 11))
    return made


def figures(granularity="month", first=date(2026, 1, 1), last=date(2026, 2, 10), **scope):
    return response_figures(
        scope=Scope(district_id=scope.pop("district_id"), **scope),
        first=first,
        last=last,
        granularity=granularity,
        now=NOW,
    )


def test_january_by_month_known_by_hand(world, district):
    january, february = figures(district_id=district.pk).periods

    assert january.period == date(2026, 1, 1)
    assert january.requests == 5
    # 60, 120, 180, 240, 600 s: the median the middle one; p90 at 0.9 × 4 = 3.6 places,
    # 240 + 0.6 × (600 − 240) = 456.
    assert (january.to_accept.count, january.to_accept.p50_s, january.to_accept.p90_s) == (
        5,
        180.0,
        456.0,
    )
    # Verified arrivals only (r4's rejected check-in left out): 600, 900, 1800 s; p90 at
    # 0.9 × 2 = 1.8 places, 900 + 0.8 × 900 = 1620.
    assert (january.to_arrive.count, january.to_arrive.p50_s, january.to_arrive.p90_s) == (
        3,
        900.0,
        1620.0,
    )
    assert (january.accepted.met, january.accepted.missed, january.accepted.share) == (5, 0, 1.0)
    assert (january.arrived.met, january.arrived.missed, january.arrived.share) == (4, 1, 0.8)
    assert (january.non_arrivals, january.exceptions) == (1, 1)
    assert (january.ratings, january.rating_mean) == (3, 3.67)  # (5 + 4 + 2) / 3
    assert (january.complaints_opened, january.complaints_upheld) == (1, 1)

    assert february.period == date(2026, 2, 1)
    assert (february.requests, february.to_accept.count) == (1, 0)
    assert february.to_accept.p50_s is None
    assert (february.complaints_opened, february.complaints_upheld) == (1, 0)


def test_the_total_has_its_own_percentiles(world, district):
    total = figures(district_id=district.pk).total

    assert total.period is None
    assert total.requests == 6
    assert (total.to_accept.p50_s, total.to_accept.p90_s) == (180.0, 456.0)
    assert (total.complaints_opened, total.complaints_upheld) == (2, 1)


def test_days_end_at_midnight_in_shanghai(world, district):
    result = figures("day", date(2026, 1, 31), date(2026, 2, 1), district_id=district.pk)

    assert [(p.period, p.requests) for p in result.periods] == [
        (date(2026, 1, 31), 1),
        (date(2026, 2, 1), 1),
    ]
    assert result.time_zone == "Asia/Shanghai"


def test_by_month_a_period_widens_to_whole_months(world, district):
    result = figures(first=date(2026, 1, 20), last=date(2026, 1, 20), district_id=district.pk)

    assert (result.first, result.last) == (date(2026, 1, 1), date(2026, 1, 31))
    assert [p.requests for p in result.periods] == [5]


def test_filters_by_provider_and_service_type(world, district):
    provider = world["r1"].assigned_provider_id

    by_provider = figures(district_id=district.pk, provider_id=provider).total
    cleaning = figures(district_id=district.pk, service_type="cleaning").total

    assert (by_provider.requests, by_provider.complaints_opened) == (5, 2)
    assert (cleaning.requests, cleaning.ratings, cleaning.complaints_opened) == (1, 0, 0)


def test_six_queries_whatever_the_volume(world, district):
    with CaptureQueriesContext(connection) as queries:
        figures(district_id=district.pk)

    assert len(queries) == 6  # three families, by period and in all


def test_the_api_answers_a_district_admin_for_their_district(world, district):
    admin = f.UserFactory(role="district_admin", district=district)

    answer = api(admin).get(URL, {"from": "2026-01-01", "to": "2026-02-10", "granularity": "month"})

    assert answer.status_code == 200
    body = answer.json()
    january = body["periods"][0]
    assert (body["from"], body["to"], body["district"]) == ("2026-01-01", "2026-02-28", district.pk)
    assert january["to_accept"] == {"count": 5, "p50_s": 180.0, "p90_s": 456.0}
    assert january["arrived"] == {"met": 4, "missed": 1, "pending": 0, "share": 0.8}
    assert body["total"]["requests"] == 6


def test_another_districts_admin_sees_none_of_it(world, district):
    other = f.UserFactory(role="district_admin", district=f.DistrictFactory())
    query = {"from": "2026-01-01", "to": "2026-02-10", "granularity": "month"}

    answer = api(other).get(URL, query)
    foreign_provider = api(other).get(URL, {**query, "provider": world["r1"].assigned_provider_id})

    assert answer.status_code == 200
    assert answer.json()["total"]["requests"] == 0
    assert answer.json()["total"]["complaints_opened"] == 0
    assert foreign_provider.status_code == 400
    assert "provider" in foreign_provider.json()["error"]["fields"]


@pytest.mark.parametrize(
    "query, field",
    [
        ({"to": "2999-01-01"}, "to"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
        ({"from": "2025-01-01", "to": "2026-01-01"}, "from"),  # over 92 days
        ({"granularity": "week"}, "granularity"),
        ({"service_type": "juggling"}, "service_type"),
    ],
)
def test_bad_questions_name_the_field(district, query, field):
    admin = f.UserFactory(role="district_admin", district=district)

    answer = api(admin).get(URL, query)

    assert answer.status_code == 400
    assert field in answer.json()["error"]["fields"]


def test_an_operator_is_refused(district):
    operator = f.UserFactory(role="operator", district=district)

    assert api(operator).get(URL).status_code == 403


def test_one_days_default_is_the_last_week(district):
    admin = f.UserFactory(role="district_admin", district=district)

    body = api(admin).get(URL).json()

    assert len(body["periods"]) == 7
    assert date.fromisoformat(body["to"]) - date.fromisoformat(body["from"]) == timedelta(days=6)
