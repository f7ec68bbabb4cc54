"""A district's work orders of a local day and its open alerts (dispatch/figures.py): work orders
made at known Shanghai times, at both edges of the day and around it, with each target met,
missed (recorded, late, or passed unrecorded), pending or neither; the numbers PostgreSQL gives
back checked exactly, another district's left out, and each read one query."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dispatch import escalation, services
from dispatch.figures import open_alert_figures, request_figures
from dispatch.models import OperatorAlert, ServiceRequest, ServiceType
from tests import factories as f

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 1, 5)
NOON = datetime(2026, 1, 5, 12, 0, tzinfo=SHANGHAI)
MIN = timedelta(minutes=1)


def local(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, micro, tzinfo=SHANGHAI)


def made(elder, at: datetime, *, priority="routine", channel="operator", **fields):
    """A work order logged through intake, then moved to have come in at `at` with deadlines
    30 and 60 minutes later unless given, and the other `fields` as they are by then."""
    sr = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="meal"),
        channel=channel,
        caller=None,
        priority=priority,
    )
    fields = {"accept_due_at": at + 30 * MIN, "arrive_due_at": at + 60 * MIN, **fields}
    ServiceRequest.objects.filter(pk=sr.pk).update(created_at=at, **fields)
    return sr


@pytest.fixture
def day_of_work(elder):
    """5 January 2026 in Shanghai as seen at noon: six work orders of the day, three around it,
    one of another district."""
    at = local(5, 0)  # the day's first moment (16:00 UTC on the 4th): both targets met
    made(elder, at, state="completed", accepted_at=at + 10 * MIN, arrived_at=at + 50 * MIN)
    at = local(5, 8, 15)  # accepted and checked in late, nothing recorded yet
    made(
        elder,
        at,
        priority="urgent",
        channel="family",
        state="on_site",
        accept_due_at=at + 10 * MIN,
        accepted_at=at + 20 * MIN,
        arrived_at=at + 90 * MIN,
    )
    at = local(5, 8, 40)  # accepted in time; on the way past its arrival target (unswept)
    made(
        elder,
        at,
        priority="emergency",
        channel="alarm",
        state="en_route",
        accept_due_at=at + 2 * MIN,
        accepted_at=at + 1 * MIN,
        arrive_due_at=at + 15 * MIN,
    )
    at = local(5, 9)  # in the operator queue, its accept miss recorded; arrival still ahead
    made(
        elder,
        at,
        channel="scheduled",
        state="escalated",
        accept_missed_at=at + 30 * MIN,
        arrive_due_at=local(5, 14),
    )
    at = local(5, 10)  # cancelled before either deadline: counted, but for neither target
    made(elder, at, state="cancelled", outcome="duplicate")
    at = local(5, 11, 40)  # matching, both deadlines ahead
    made(elder, at, channel="ivr", state="matching")
    # Around the day: the evening before, the last microsecond before, and the next day.
    made(elder, local(4, 23, 30), state="matching")
    made(elder, local(4, 23, 59, 59, 999999), state="matching")
    made(elder, local(6, 0), state="matching")
    made(f.ElderFactory(), local(5, 9), state="matching")  # another district


def test_the_days_work_orders_by_priority_and_channel(day_of_work, district):
    figures = request_figures(district_id=district.pk, day=DAY, now=NOON)

    assert figures.received == 6
    assert figures.by_priority == {"routine": 4, "urgent": 1, "emergency": 1}
    assert figures.by_channel == {
        "operator": 2,
        "family": 1,
        "scheduled": 1,
        "ivr": 1,
        "alarm": 1,
    }
    assert figures.time_zone == "Asia/Shanghai"


def test_each_target_met_missed_or_pending(day_of_work, district):
    figures = request_figures(district_id=district.pk, day=DAY, now=NOON)

    # Accepted: met at 00:00 and 08:40; missed at 08:15 (late) and 09:00 (recorded); pending
    # at 11:40; the cancelled one is neither.
    assert (figures.accepted.met, figures.accepted.missed, figures.accepted.pending) == (2, 2, 1)
    assert figures.accepted.share == 0.5
    # On site: met at 00:00; missed at 08:15 (late check-in) and 08:40 (due 08:55, nobody yet);
    # pending at 09:00 and 11:40.
    assert (figures.arrived.met, figures.arrived.missed, figures.arrived.pending) == (1, 2, 2)
    assert figures.arrived.share == 0.3333


def test_a_target_passing_moves_it_from_pending_to_missed(day_of_work, district):
    later = request_figures(district_id=district.pk, day=DAY, now=local(5, 13, 30))

    # 11:40's accept target (12:10) and arrival target (12:40) have passed with nobody.
    assert (later.accepted.met, later.accepted.missed, later.accepted.pending) == (2, 3, 0)
    assert (later.arrived.met, later.arrived.missed, later.arrived.pending) == (1, 3, 1)


def test_a_recorded_miss_outweighs_an_earlier_acceptance(elder, district):
    """Accepted in time, then the worker did not come and nobody took it again by the target:
    the sweeper's recorded miss is what counts."""
    at = local(5, 9)
    made(
        elder,
        at,
        state="escalated",
        accepted_at=at + 5 * MIN,
        accept_missed_at=at + 30 * MIN,
    )

    figures = request_figures(district_id=district.pk, day=DAY, now=NOON)

    assert (figures.accepted.met, figures.accepted.missed) == (0, 1)


def test_the_hours_are_shanghai_hours(day_of_work, district):
    figures = request_figures(district_id=district.pk, day=DAY, now=NOON)

    assert len(figures.hours) == 24
    busy = {h.hour: (h.received, h.late) for h in figures.hours if h.received}
    assert busy == {0: (1, 0), 8: (2, 2), 9: (1, 0), 10: (1, 0), 11: (1, 0)}


def test_a_day_without_work_orders(district):
    figures = request_figures(district_id=district.pk, day=DAY, now=NOON)

    assert figures.received == 0
    assert figures.accepted.share is None
    assert [h.received for h in figures.hours] == [0] * 24


def test_the_days_figures_are_one_query(day_of_work, district, django_assert_num_queries):
    with django_assert_num_queries(1):
        request_figures(district_id=district.pk, day=DAY, now=NOON)


def _alert(elder, kind: str, raised_at: datetime) -> OperatorAlert:
    sr = made(elder, raised_at, state="escalated")
    alert = escalation.alert_raise(sr, kind)
    assert alert is not None
    OperatorAlert.objects.filter(pk=alert.pk).update(raised_at=raised_at)
    return alert


def test_open_alerts_by_kind_oldest_first(elder, operator, district, django_assert_num_queries):
    now = timezone.now()
    _alert(elder, "no_worker", now - 10 * MIN)
    taken = _alert(elder, "no_worker", now - 30 * MIN)
    escalation.alert_acknowledge(alert_id=taken.pk, user=operator)
    _alert(elder, "late_arrival", now - 45 * MIN)
    resolved = _alert(elder, "late_arrival", now - 90 * MIN)
    escalation.alert_resolve(alert_id=resolved.pk, user=operator, resolution="handled_by_phone")
    _alert(f.ElderFactory(), "no_worker", now - 120 * MIN)  # another district

    with django_assert_num_queries(1):
        figures = open_alert_figures(district_id=district.pk)

    assert (figures.open, figures.untaken) == (3, 2)
    assert figures.oldest_raised_at == now - 45 * MIN
    assert [(k.kind, k.open, k.untaken, k.oldest_raised_at) for k in figures.by_kind] == [
        ("late_arrival", 1, 1, now - 45 * MIN),
        ("no_worker", 2, 1, now - 30 * MIN),
    ]


def test_no_open_alerts(district):
    figures = open_alert_figures(district_id=district.pk)

    assert (figures.open, figures.untaken, figures.oldest_raised_at) == (0, 0, None)
    assert figures.by_kind == []
