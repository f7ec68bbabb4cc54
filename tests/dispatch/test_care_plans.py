from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
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


def stored(elder, rrule, starts_on, service_code="meal"):
    """An entry as the database may hold it from before the bounds (or from the admin)."""
    return CareNeed.objects.create(
        elder=elder, service_code=service_code, rrule=rrule, starts_on=starts_on
    )


def test_a_stored_rule_out_of_bounds_is_skipped_and_logged(elder, caplog):
    every_hour = stored(elder, "FREQ=HOURLY;BYMINUTE=0", date.today() - timedelta(days=1))
    lunch(elder)

    made = care_plans_generate(horizon=timedelta(hours=48))

    assert ServiceRequest.objects.filter(care_need=every_hour).count() == 0
    assert made == ServiceRequest.objects.count() == 2
    assert "care_need_out_of_bounds" in caplog.text
    assert f"care_need={every_hour.pk}" in caplog.text or f'"care_need": {every_hour.pk}' in (
        caplog.text
    )


@pytest.mark.timeout(20)
def test_a_stored_rule_every_second_since_1900_does_not_hold_up_the_run(elder):
    stored(elder, "FREQ=SECONDLY", date(1900, 1, 1))
    lunch(elder)

    assert care_plans_generate(horizon=timedelta(hours=48)) == 2


@pytest.mark.parametrize(
    "rrule",
    [
        "FREQ=DAILY;BYHOUR=11;BYMINUTE=30",
        "FREQ=DAILY;INTERVAL=3;BYHOUR=8,18",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=15",
        "FREQ=WEEKLY;INTERVAL=3;BYHOUR=9",
        "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,MO;BYHOUR=9",
        "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=10",
        "FREQ=MONTHLY;INTERVAL=5;BYHOUR=10",
        "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15,-1;BYHOUR=10",
    ],
)
@pytest.mark.parametrize("starts_on", [date(2019, 1, 31), date(2025, 2, 28), date(2026, 11, 30)])
def test_an_old_start_gives_the_same_occurrences_as_counting_from_it(elder, rrule, starts_on):
    from dateutil.rrule import rrulestr

    need = stored(elder, rrule, starts_on)
    start = datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
    end = start + timedelta(days=160)
    counted = [
        o.astimezone(ZoneInfo("UTC"))
        for o in rrulestr(
            rrule, dtstart=datetime(*starts_on.timetuple()[:3], tzinfo=SHANGHAI)
        ).between(start, end, inc=True)
        if o < end
    ]

    assert occurrences(need, start=start, end=end) == counted
    assert counted


def test_a_run_makes_at_most_its_cap_soonest_first_and_the_next_run_the_rest(elder, settings):
    settings.ANXIN = {**settings.ANXIN, "CARE_PLAN_MAX_PER_RUN": 3}
    lunch(elder)
    CareNeed.objects.create(
        elder=elder,
        service_code="meal",
        rrule="FREQ=DAILY;BYHOUR=17;BYMINUTE=30",
        starts_on=date(2026, 1, 1),
    )

    first = care_plans_generate(horizon=timedelta(hours=48))
    soonest = sorted(ServiceRequest.objects.values_list("occurrence", flat=True))
    second = care_plans_generate(horizon=timedelta(hours=48))

    every = sorted(ServiceRequest.objects.values_list("occurrence", flat=True))
    assert (first, second, len(every)) == (3, 1, 4)
    assert soonest == every[:3]


def test_a_run_out_of_time_stops_and_leaves_the_rest_to_the_next(elder, settings, caplog):
    settings.ANXIN = {**settings.ANXIN, "CARE_PLAN_RUN_S": 0}
    lunch(elder)

    made = care_plans_generate(horizon=timedelta(hours=48))

    assert made == ServiceRequest.objects.count() == 0
    assert "care_plans_cut_short" in caplog.text


def test_the_sweeper_never_expands_care_plans(elder):
    from dispatch.tasks import sweep_deadlines

    lunch(elder)

    sweep_deadlines()

    assert not ServiceRequest.objects.exists()


def test_care_plans_go_to_the_bulk_queue_away_from_the_sweeps_and_offers():
    from backend.celery import app

    def queue(task):
        return app.amqp.router.route({}, task)["queue"].name

    assert queue("dispatch.tasks.care_plans_generate") == settings.ANXIN_QUEUES["bulk"]
    assert queue("dispatch.tasks.sweep_urgent") == settings.ANXIN_QUEUES["urgent"]
    assert queue("dispatch.tasks.request_match") == settings.ANXIN_QUEUES["routine"]
