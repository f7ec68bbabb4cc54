"""A care-plan entry's rule is bounded when it is written: how often (daily, weekly or monthly,
at most four times a day), no end of its own (ends_on says that), no start long past."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import api

pytestmark = pytest.mark.django_db


def add_need(operator, elder, rrule, starts_on=None):
    starts_on = starts_on or timezone.localdate().isoformat()
    return api(operator).post(
        f"/api/v1/elders/{elder.pk}/care-needs/",
        {"service_code": "meal", "rrule": rrule, "starts_on": starts_on},
        format="json",
    )


@pytest.mark.parametrize(
    ("rrule", "reason"),
    [
        ("FREQ=SECONDLY;BYHOUR=9", "DAILY, WEEKLY or MONTHLY"),
        ("FREQ=HOURLY;BYHOUR=9", "DAILY, WEEKLY or MONTHLY"),
        ("FREQ=YEARLY;BYHOUR=9", "DAILY, WEEKLY or MONTHLY"),
        ("FREQ=DAILY;BYHOUR=6,9,12,15,18", "at most 4 times a day"),
        ("FREQ=DAILY;BYHOUR=9,12;BYMINUTE=0,20,40", "at most 4 times a day"),
        ("FREQ=DAILY;BYHOUR=9;COUNT=100000", "ends_on"),
        ("FREQ=DAILY;BYHOUR=9;UNTIL=99991231T000000Z", "ends_on"),
        ("DTSTART:19000101T000000\nRRULE:FREQ=DAILY;BYHOUR=9", "one line"),
        ("FREQ=DAILY;BYHOUR=9;BYSECOND=0,1,2,3", "BYSECOND"),
        ("FREQ=DAILY;BYHOUR=9;INTERVAL=1000", "INTERVAL"),
        ("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30;BYHOUR=9", "BYMONTH"),
        ("FREQ=MONTHLY;BYMONTHDAY=31;BYHOUR=9", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYDAY=5MO;BYHOUR=9", "BYDAY"),
        ("FREQ=DAILY;INTERVAL=7;BYDAY=MO;BYHOUR=9", "BYDAY"),
        ("FREQ=DAILY;BYHOUR=25", "BYHOUR"),
        ("FREQ=DAILY", "BYHOUR"),
        ("FREQ=DAILY;FREQ=WEEKLY;BYHOUR=9", "FREQ"),
    ],
)
@pytest.mark.usefixtures("english")
def test_a_rule_out_of_bounds_is_a_400_naming_rrule_and_why(operator, elder, rrule, reason):
    response = add_need(operator, elder, rrule)

    assert response.status_code == 400, response.json()
    assert reason in " ".join(response.json()["error"]["fields"]["rrule"])


@pytest.mark.parametrize(
    ("rrule", "stored"),
    [
        ("FREQ=DAILY;BYHOUR=11;BYMINUTE=30", "FREQ=DAILY;BYHOUR=11;BYMINUTE=30"),
        ("freq=daily;byhour=11,17;byminute=30", "FREQ=DAILY;BYHOUR=11,17;BYMINUTE=30"),
        ("RRULE:FREQ=WEEKLY;BYDAY=TH;BYHOUR=15", "FREQ=WEEKLY;BYDAY=TH;BYHOUR=15"),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;BYHOUR=9",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;BYHOUR=9",
        ),
        ("FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10", "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=10", "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=10"),
        (
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=7,12",
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=7,12",
        ),
    ],
)
def test_the_rules_a_care_plan_needs_are_taken(operator, elder, rrule, stored):
    response = add_need(operator, elder, rrule)

    assert response.status_code == 201, response.json()
    assert response.json()["rrule"] == stored


def test_a_start_long_past_is_a_400_naming_starts_on(operator, elder):
    today = timezone.localdate()

    in_1900 = add_need(operator, elder, "FREQ=DAILY;BYHOUR=11", starts_on="1900-01-01")
    last_week = add_need(
        operator, elder, "FREQ=DAILY;BYHOUR=11", starts_on=(today - timedelta(days=7)).isoformat()
    )

    assert in_1900.status_code == 400, in_1900.json()
    assert "starts_on" in in_1900.json()["error"]["fields"]
    assert last_week.status_code == 201, last_week.json()
