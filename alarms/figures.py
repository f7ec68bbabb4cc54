"""The alarm figures operators and the district need, per local day: how many alarms came in,
how long from received to seen by a staff member, to acknowledged, to someone on site, and the
share acknowledged within the platform's target and the telecare marks (docs/alarms.md,
"Figures").

Days are the platform's local days (backend/core/days.py). An alarm belongs to the day it was
received. Everything is computed by PostgreSQL in two aggregate queries (the days, the whole
period), whatever the number of alarms."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    Aggregate,
    Count,
    Exists,
    Expression,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncDate

from backend.core.aggregates import Percentile, Seconds
from backend.core.days import local_days_span, local_today, local_zone
from backend.core.models import Event

from .models import ALARM_KINDS, Alarm, AlarmOutcome, AlarmState, MessageKind

# The longest period one request may ask for, in days (a quarter).
MAX_DAYS = 92
# The period when none is asked for: the last week, today included.
DEFAULT_DAYS = 7
# No alarm is older than this; a date before it is a mistake, not a question.
EARLIEST_DAY = date(2000, 1, 1)
# Telecare monitoring centres promise these shares of alarm calls answered within these times
# (seconds); the platform's own target, ANXIN["ALARM_ACK_WITHIN_S"], is added first.
TELECARE_MARKS: tuple[tuple[int, float], ...] = ((60, 0.975), (180, 0.99))

KINDS = [kind.value for kind in MessageKind if kind in ALARM_KINDS]
OUTCOMES = [outcome.value for outcome in AlarmOutcome]


def figures_time_zone() -> ZoneInfo:
    """Where the figures' days begin and end: the platform's local days."""
    return local_zone()


def figures_today() -> date:
    return local_today()


@dataclass(frozen=True)
class Spread:
    """Seconds from received to a moment, over the alarms that reached it (`count`)."""

    count: int
    p50_s: float | None
    p90_s: float | None
    max_s: float | None


@dataclass(frozen=True)
class Mark:
    """Acknowledged within `within_s` of being received. An alarm not acknowledged by then
    (closed without, or still open past the mark) is missed; one still open and not yet past
    the mark is pending, and left out of the share until it is decided."""

    within_s: int
    promised_share: float | None
    within: int
    missed: int
    pending: int

    @property
    def share(self) -> float | None:
        decided = self.within + self.missed
        return round(self.within / decided, 4) if decided else None


@dataclass(frozen=True)
class DayFigures:
    """One local day's alarms (`day`), or the whole period's (`day` None)."""

    day: date | None
    received: int
    by_kind: dict[str, int]
    late: int
    shown: Spread
    acknowledged: Spread
    acknowledged_within: list[Mark]
    dispatched: int
    dispatched_automatically: int
    on_site: Spread
    outcomes: dict[str, int]
    not_closed: int


@dataclass(frozen=True)
class Figures:
    district_id: int
    first: date
    last: date
    time_zone: str
    ack_target_s: int
    computed_at: datetime
    days: list[DayFigures]
    total: DayFigures


def _marks() -> list[tuple[int, float | None]]:
    """(seconds, promised share): the target first, then the telecare marks; a telecare mark
    equal to the target is the same mark, once, in the target's place with its promise (each
    mark's aggregates are keyed by its seconds)."""
    target = settings.ANXIN["ALARM_ACK_WITHIN_S"]
    promised = dict(TELECARE_MARKS)
    return [(target, promised.get(target)), *(m for m in TELECARE_MARKS if m[0] != target)]


def _spread(name: str, seconds: Expression, reached: Q) -> dict[str, Aggregate]:
    return {
        f"{name}_count": Count("pk", filter=reached),
        f"{name}_p50": Percentile(seconds, 0.5),
        f"{name}_p90": Percentile(seconds, 0.9),
        f"{name}_max": Max(seconds),
    }


def _aggregates(now: datetime) -> dict[str, Aggregate]:
    automatic = Event.objects.filter(
        subject_type="alarm",
        subject_id=OuterRef("pk"),
        kind="alarm.dispatched",
        data__automatic=True,
    )
    figures: dict[str, Aggregate] = {
        "received": Count("pk"),
        "late": Count("pk", filter=Q(late=True)),
        "dispatched": Count("pk", filter=Q(request__isnull=False)),
        "automatic": Count("pk", filter=Q(Exists(automatic))),
        "not_closed": Count("pk", filter=~Q(state=AlarmState.CLOSED)),
        **{f"kind_{kind}": Count("pk", filter=Q(kind=kind)) for kind in KINDS},
        **{f"outcome_{code}": Count("pk", filter=Q(outcome=code)) for code in OUTCOMES},
        **_spread("shown", Seconds(F("shown_at") - F("received_at")), Q(shown_at__isnull=False)),
        **_spread(
            "acknowledged",
            Seconds(F("acknowledged_at") - F("received_at")),
            Q(acknowledged_at__isnull=False),
        ),
        # Someone on site: the check-in of the visit on the emergency request dispatched for
        # the alarm (dispatch.services.visit_check_in sets the request's arrived_at to it).
        **_spread(
            "on_site",
            Seconds(F("request__arrived_at") - F("received_at")),
            Q(request__arrived_at__isnull=False),
        ),
    }
    for seconds, _promised in _marks():
        mark = timedelta(seconds=seconds)
        figures[f"within_{seconds}"] = Count(
            "pk", filter=Q(acknowledged_at__lte=F("received_at") + mark)
        )
        figures[f"pending_{seconds}"] = Count(
            "pk",
            filter=Q(acknowledged_at__isnull=True, received_at__gt=now - mark)
            & ~Q(state=AlarmState.CLOSED),
        )
    return figures


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _day(day: date | None, row: dict[str, Any]) -> DayFigures:
    def spread(name: str) -> Spread:
        return Spread(
            count=row[f"{name}_count"],
            p50_s=_seconds(row[f"{name}_p50"]),
            p90_s=_seconds(row[f"{name}_p90"]),
            max_s=_seconds(row[f"{name}_max"]),
        )

    marks = []
    for seconds, promised in _marks():
        within, pending = row[f"within_{seconds}"], row[f"pending_{seconds}"]
        missed = row["received"] - within - pending
        marks.append(Mark(seconds, promised, within, missed, pending))
    return DayFigures(
        day=day,
        received=row["received"],
        by_kind={kind: row[f"kind_{kind}"] for kind in KINDS},
        late=row["late"],
        shown=spread("shown"),
        acknowledged=spread("acknowledged"),
        acknowledged_within=marks,
        dispatched=row["dispatched"],
        dispatched_automatically=row["automatic"],
        on_site=spread("on_site"),
        outcomes={code: row[f"outcome_{code}"] for code in OUTCOMES},
        not_closed=row["not_closed"],
    )


def _empty(aggregates: dict[str, Aggregate]) -> dict[str, Any]:
    """The aggregates' row for a day without alarms: no times, counts of nought."""
    return {name: 0 if isinstance(agg, Count) else None for name, agg in aggregates.items()}


def _received_between(district_id: int, first: date, last: date) -> QuerySet[Alarm]:
    start, end = local_days_span(first, last)
    return Alarm.objects.filter(
        district_id=district_id, received_at__gte=start, received_at__lt=end
    )


def alarm_figures(*, district_id: int, first: date, last: date, now: datetime) -> Figures:
    """The district's figures for the local days `first` to `last` (both included), as of
    `now` (which alarms are still pending a mark). The caller checks who may see them and
    that the period is at most MAX_DAYS."""
    tz = figures_time_zone()
    alarms = _received_between(district_id, first, last)
    aggregates = _aggregates(now)
    by_day = {
        row["day"]: row
        for row in alarms.annotate(day=TruncDate("received_at", tzinfo=tz))
        .values("day")
        .annotate(**aggregates)
        .order_by("day")
    }
    empty = _empty(aggregates)
    days = [
        _day(day, by_day.get(day, empty))
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    ]
    return Figures(
        district_id=district_id,
        first=first,
        last=last,
        time_zone=str(tz),
        ack_target_s=settings.ANXIN["ALARM_ACK_WITHIN_S"],
        computed_at=now,
        days=days,
        total=_day(None, alarms.aggregate(**aggregates)),
    )
