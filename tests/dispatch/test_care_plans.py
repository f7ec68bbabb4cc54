from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError

from dispatch.care_plans import care_plans_generate, occurrences
from dispatch.models import ServiceRequest
from elders.models import CareNeed

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def lunch(elder, **kwargs):
    return CareNeed.objects.create(
        elder=elder,
        service_code="meal",
        rrule="FREQ=DAILY;BYHOUR=11;BYMINUTE=30",
        starts_on=date(2026, 1, 1),
        duration_minutes=30,
        **kwargs,
    )


def test_lunch_every_day_at_1130_is_1130_in_shanghai(elder):
    need = lunch(elder)
    start = datetime(2026, 11, 24, 0, 0, tzinfo=SHANGHAI)

    found = occurrences(need, start=start, end=start + timedelta(days=2))

    assert [o.astimezone(SHANGHAI).strftime("%m-%d %H:%M") for o in found] == [
        "11-24 11:30",
        "11-25 11:30",
    ]
    assert found[0].utcoffset() == timedelta(0)
    assert found[0].hour == 3  # 11:30 in Shanghai is 03:30 UTC


def test_a_weekly_bath_on_thursday(elder):
    need = CareNeed.objects.create(
        elder=elder,
        service_code="bathing",
        rrule="FREQ=WEEKLY;BYDAY=TH;BYHOUR=15;BYMINUTE=0",
        starts_on=date(2026, 1, 1),
    )
    start = datetime(2026, 11, 23, tzinfo=SHANGHAI)  # a Monday

    found = occurrences(need, start=start, end=start + timedelta(days=14))

    assert [o.astimezone(SHANGHAI).strftime("%a %d %H:%M") for o in found] == [
        "Thu 26 15:00",
        "Thu 03 15:00",
    ]


def test_running_the_generator_twice_makes_each_request_once(elder):
    need = lunch(elder)

    first = care_plans_generate(horizon=timedelta(hours=48))
    second = care_plans_generate(horizon=timedelta(hours=48))

    made = ServiceRequest.objects.filter(care_need=need)
    assert first == made.count() == 2 and second == 0
    assert {r.channel for r in made} == {"scheduled"}
    assert all(r.window_end - r.window_start == timedelta(minutes=30) for r in made)
    assert all(
        r.match_at == max(r.created_at, r.window_start - r.service_type.lead_time)
        or r.match_at - r.created_at < timedelta(seconds=1)
        for r in made
    )


def test_the_database_refuses_a_second_request_for_one_occurrence(elder):
    need = lunch(elder)
    care_plans_generate(horizon=timedelta(hours=24))
    existing = ServiceRequest.objects.filter(care_need=need).first()

    with pytest.raises(IntegrityError, match="request_once_per_occurrence"):
        ServiceRequest.objects.create(
            district=elder.district,
            elder=elder,
            service_type=existing.service_type,
            channel="scheduled",
            priority="routine",
            window_start=existing.window_start,
            window_end=existing.window_end,
            match_at=existing.match_at,
            accept_due_at=existing.accept_due_at,
            arrive_due_at=existing.arrive_due_at,
            care_need=need,
            occurrence=existing.occurrence,
        )


def test_inactive_ended_or_departed_entries_make_nothing(elder):
    lunch(elder, active=False)
    lunch(elder, ends_on=date(2026, 2, 1))
    moved = type(elder).objects.create(
        district=elder.district,
        full_name="x",
        gender="male",
        address="x",
        location=elder.location,
        status="moved",
    )
    lunch(moved)

    assert care_plans_generate(horizon=timedelta(hours=48)) == 0
