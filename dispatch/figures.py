"""A district's work orders of a local day and its open alerts, as figures: the supervisor's view
of the console shows them, a district's report can count the same.

A work order belongs to the local day it came in (`created_at`; backend/core/days.py), as an
alarm belongs to the day it was received (alarms/figures.py), and to the hour of that day. Each
of its two targets, accepted by `accept_due_at` and on site by `arrive_due_at`, is:
- met: accepted (checked in) by its deadline, and no miss recorded;
- missed: a miss recorded by the sweeper, accepted (checked in) after the deadline, or the
  deadline passed with nobody yet (the sweeper records it within seconds);
- pending: nobody yet, the deadline still ahead, the work still open;
- neither, when the work ended before its deadline without anybody (cancelled, say).
A share counts the met among the decided (met and missed), as the alarms' marks do.

Everything is computed by PostgreSQL: one aggregate query for the day's work orders (per hour,
summed here) and one for the open alerts, whatever their number."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, F, Min, Q
from django.db.models.functions import ExtractHour

from backend.core.days import local_days_span, local_zone

from .models import (
    NOT_ARRIVED_STATES,
    UNACCEPTED_STATES,
    Channel,
    OperatorAlert,
    Priority,
    ServiceRequest,
)

PRIORITIES = [priority.value for priority in Priority]
CHANNELS = [channel.value for channel in Channel]
HOURS = range(24)


@dataclass(frozen=True)
class Target:
    """How the work orders fared against one target (see the module's docstring)."""

    met: int
    missed: int
    pending: int

    @property
    def decided(self) -> int:
        return self.met + self.missed

    @property
    def share(self) -> float | None:
        return round(self.met / self.decided, 4) if self.decided else None

    def __add__(self, other: "Target") -> "Target":
        return Target(
            self.met + other.met, self.missed + other.missed, self.pending + other.pending
        )


@dataclass(frozen=True)
class HourFigures:
    """The work orders that came in during one local hour (0 to 23) of the day."""

    hour: int
    received: int
    late: int  # of them, those that missed their arrival target


@dataclass(frozen=True)
class RequestFigures:
    district_id: int
    day: date
    time_zone: str
    computed_at: datetime
    received: int
    by_priority: dict[str, int]
    by_channel: dict[str, int]
    accepted: Target
    arrived: Target
    hours: list[HourFigures]


@dataclass(frozen=True)
class AlertKindFigures:
    kind: str
    open: int
    untaken: int
    oldest_raised_at: datetime


@dataclass(frozen=True)
class AlertFigures:
    """The district's alerts not yet resolved (the exception queue), whenever raised; `untaken`
    of them nobody has acknowledged yet. By kind, the kind with the oldest alert first."""

    open: int
    untaken: int
    oldest_raised_at: datetime | None
    by_kind: list[AlertKindFigures]


def _target(
    at: str, due: str, missed: str, waiting: frozenset[str], now: datetime
) -> dict[str, Count]:
    """The three counts of one target, over work orders whose `at` (accepted_at, arrived_at)
    is set when the target is met, `due` its deadline, `missed` when the sweeper recorded the
    miss, and `waiting` the states in which it can still be met."""
    nobody_yet = Q(**{f"{at}__isnull": True, "state__in": sorted(waiting)})
    recorded = Q(**{f"{missed}__isnull": False})
    return {
        f"{at}_met": Count("pk", filter=Q(**{f"{at}__lte": F(due)}) & ~recorded),
        f"{at}_missed": Count(
            "pk",
            filter=recorded | Q(**{f"{at}__gt": F(due)}) | (nobody_yet & Q(**{f"{due}__lte": now})),
        ),
        f"{at}_pending": Count("pk", filter=nobody_yet & ~recorded & Q(**{f"{due}__gt": now})),
    }


def _aggregates(now: datetime) -> dict[str, Count]:
    accepted = _target("accepted_at", "accept_due_at", "accept_missed_at", UNACCEPTED_STATES, now)
    arrived = _target("arrived_at", "arrive_due_at", "arrive_missed_at", NOT_ARRIVED_STATES, now)
    return {
        "received": Count("pk"),
        **{f"priority_{p}": Count("pk", filter=Q(priority=p)) for p in PRIORITIES},
        **{f"channel_{c}": Count("pk", filter=Q(channel=c)) for c in CHANNELS},
        **accepted,
        **arrived,
    }


def _target_of(row: dict[str, Any], at: str) -> Target:
    return Target(row[f"{at}_met"], row[f"{at}_missed"], row[f"{at}_pending"])


def request_figures(*, district_id: int, day: date, now: datetime) -> RequestFigures:
    """The district's work orders that came in on the local `day`, as of `now` (which deadlines
    have passed). The caller checks who may see them."""
    start, end = local_days_span(day, day)
    rows = {
        row["hour"]: row
        for row in ServiceRequest.objects.filter(
            district_id=district_id, created_at__gte=start, created_at__lt=end
        )
        .annotate(hour=ExtractHour("created_at", tzinfo=local_zone()))
        .values("hour")
        .annotate(**_aggregates(now))
        .order_by("hour")
    }
    hours = []
    accepted = arrived = Target(0, 0, 0)
    for hour in HOURS:
        row = rows.get(hour)
        if row is None:
            hours.append(HourFigures(hour, 0, 0))
            continue
        late = _target_of(row, "arrived_at")
        hours.append(HourFigures(hour, row["received"], late.missed))
        accepted += _target_of(row, "accepted_at")
        arrived += late

    def total(name: str) -> int:
        return sum(row[name] for row in rows.values())

    return RequestFigures(
        district_id=district_id,
        day=day,
        time_zone=str(local_zone()),
        computed_at=now,
        received=total("received"),
        by_priority={p: total(f"priority_{p}") for p in PRIORITIES},
        by_channel={c: total(f"channel_{c}") for c in CHANNELS},
        accepted=accepted,
        arrived=arrived,
        hours=hours,
    )


def open_alert_figures(*, district_id: int) -> AlertFigures:
    """The district's unresolved alerts by kind. The caller checks who may see them."""
    rows = (
        OperatorAlert.objects.filter(request__district_id=district_id, resolved_at__isnull=True)
        .values("kind")
        .annotate(
            open=Count("pk"),
            untaken=Count("pk", filter=Q(acknowledged_at__isnull=True)),
            oldest=Min("raised_at"),
        )
        .order_by("oldest", "kind")
    )
    by_kind = [
        AlertKindFigures(row["kind"], row["open"], row["untaken"], row["oldest"]) for row in rows
    ]
    return AlertFigures(
        open=sum(kind.open for kind in by_kind),
        untaken=sum(kind.untaken for kind in by_kind),
        oldest_raised_at=by_kind[0].oldest_raised_at if by_kind else None,
        by_kind=by_kind,
    )
