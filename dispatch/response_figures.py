"""A district's response figures over a period, per local day or month (docs/district.md,
"Response figures"), for the whole district or one provider, one service type, or both.

Each fact belongs to the local period (backend/core/days.py, Asia/Shanghai) of its own moment:
a work order to the one it came in (`created_at`, as in dispatch/figures.py), a rating to the
one it was given, a complaint to the one it was opened. The figures:
- requests: the work orders that came in;
- to accept: seconds from matching's start (`match_at`) to a worker or provider accepting, over
  the work orders accepted; to arrive: seconds from the window's start (when the service was
  asked for) to the check-in, over the work orders whose visit is verified (a check-in the
  supervisor rejected, or one not checked out yet, is no arrival to count). p50 and p90 are
  PostgreSQL's `percentile_cont` (interpolated between the two nearest values);
- within target: each target met, missed or pending as dispatch/figures.py defines them (one
  definition), its share the met among the decided;
- non-arrivals: work orders the sweeper raised a non-arrival alert for (no check-in by the end
  of the window); exceptions: visits checked in outside the geofence (pending, approved or
  rejected);
- ratings: mean and count of the ratings of verified visits; complaints: opened, and of those
  upheld by now.

Alarm figures are the alarms' own (alarms/figures.py, `/api/v1/alarms/figures/`), per district.

Everything is computed by PostgreSQL: per figure family (work orders, ratings, complaints) one
query grouped by period and one for the whole period (its percentiles over all its rows)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DateField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import Trunc

from backend.core.aggregates import Percentile, Seconds
from backend.core.days import local_days_span, local_zone

from .figures import Target, _target
from .models import (
    NOT_ARRIVED_STATES,
    UNACCEPTED_STATES,
    AlertKind,
    Complaint,
    ComplaintState,
    ExceptionState,
    Feedback,
    OperatorAlert,
    ServiceRequest,
)

Granularity = Literal["day", "month"]
GRANULARITIES: tuple[Granularity, ...] = ("day", "month")
# The longest period one question may cover: a quarter by day, two years by month.
MAX_PERIODS = {"day": 92, "month": 24}
EXCEPTIONS = [ExceptionState.PENDING, ExceptionState.APPROVED, ExceptionState.REJECTED]


@dataclass(frozen=True)
class Spread:
    """Seconds to a moment over the work orders that reached it (`count`)."""

    count: int
    p50_s: float | None
    p90_s: float | None


@dataclass(frozen=True)
class PeriodFigures:
    """One local day or month (`period`: its first day), or the whole question's (None)."""

    period: date | None
    requests: int
    to_accept: Spread
    to_arrive: Spread
    accepted: Target
    arrived: Target
    non_arrivals: int
    exceptions: int
    rating_mean: float | None
    ratings: int
    complaints_opened: int
    complaints_upheld: int


@dataclass(frozen=True)
class Scope:
    """Whose figures: a district's, narrowed to a provider and/or a service type (its code)."""

    district_id: int
    provider_id: int | None = None
    service_type: str | None = None


@dataclass(frozen=True)
class ResponseFigures:
    scope: Scope
    granularity: Granularity
    first: date
    last: date
    time_zone: str
    computed_at: datetime
    periods: list[PeriodFigures]
    total: PeriodFigures


def period_bounds(first: date, last: date, granularity: Granularity) -> tuple[date, date]:
    """The days the question covers: by month, whole months (the first's to the last's)."""
    if granularity == "day":
        return first, last
    following = (last.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first.replace(day=1), following - timedelta(days=1)


def period_starts(first: date, last: date, granularity: Granularity) -> list[date]:
    """Each period's first day, from `first`'s period to `last`'s."""
    if granularity == "day":
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]
    starts, month = [], first.replace(day=1)
    while month <= last:
        starts.append(month)
        month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return starts


def _spread(name: str, seconds: Any, reached: Q) -> dict[str, Aggregate]:
    return {
        f"{name}_count": Count("pk", filter=reached),
        f"{name}_p50": Percentile(seconds, 0.5, filter=reached),
        f"{name}_p90": Percentile(seconds, 0.9, filter=reached),
    }


def _request_aggregates(now: datetime) -> dict[str, Aggregate]:
    non_arrival = OperatorAlert.objects.filter(request=OuterRef("pk"), kind=AlertKind.NON_ARRIVAL)
    return {
        "requests": Count("pk"),
        **_spread(
            "to_accept", Seconds(F("accepted_at") - F("match_at")), Q(accepted_at__isnull=False)
        ),
        **_spread(
            "to_arrive",
            Seconds(F("arrived_at") - F("window_start")),
            Q(arrived_at__isnull=False, visit__verified=True),
        ),
        **_target("accepted_at", "accept_due_at", "accept_missed_at", UNACCEPTED_STATES, now),
        **_target("arrived_at", "arrive_due_at", "arrive_missed_at", NOT_ARRIVED_STATES, now),
        "non_arrivals": Count("pk", filter=Q(Exists(non_arrival))),
        "exceptions": Count("pk", filter=Q(visit__exception_state__in=EXCEPTIONS)),
    }


RATING_AGGREGATES: dict[str, Aggregate] = {"rating_mean": Avg("rating"), "ratings": Count("pk")}
COMPLAINT_AGGREGATES: dict[str, Aggregate] = {
    "complaints_opened": Count("pk"),
    "complaints_upheld": Count("pk", filter=Q(state=ComplaintState.UPHELD)),
}


def _requests(scope: Scope, prefix: str = "") -> Q:
    """The work orders of the scope, seen from a model `prefix` away (e.g. "request__")."""
    q = Q(**{f"{prefix}district_id": scope.district_id})
    if scope.provider_id is not None:
        q &= Q(**{f"{prefix}assigned_provider_id": scope.provider_id})
    if scope.service_type is not None:
        q &= Q(**{f"{prefix}service_type__code": scope.service_type})
    return q


def _between(field: str, first: date, last: date) -> Q:
    start, end = local_days_span(first, last)
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def _families(scope: Scope, first: date, last: date, now: datetime) -> list[tuple]:
    """(rows, the moment that places a row in its period, its aggregates) per figure family."""
    return [
        (
            ServiceRequest.objects.filter(_requests(scope), _between("created_at", first, last)),
            "created_at",
            _request_aggregates(now),
        ),
        (
            Feedback.objects.filter(
                _requests(scope, "request__"),
                _between("at", first, last),
                request__visit__verified=True,
            ),
            "at",
            RATING_AGGREGATES,
        ),
        (
            Complaint.objects.filter(
                _requests(scope, "request__"), _between("opened_at", first, last)
            ),
            "opened_at",
            COMPLAINT_AGGREGATES,
        ),
    ]


def _grouped(
    rows: QuerySet, moment: str, aggregates: dict[str, Aggregate], granularity: Granularity
) -> dict[date, dict[str, Any]]:
    bucket = Trunc(moment, granularity, output_field=DateField(), tzinfo=local_zone())
    return {
        row["period"]: row
        for row in rows.annotate(period=bucket)
        .values("period")
        .annotate(**aggregates)
        .order_by("period")
    }


def _empty(aggregates: dict[str, Aggregate]) -> dict[str, Any]:
    return {name: 0 if isinstance(agg, Count) else None for name, agg in aggregates.items()}


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _figures(period: date | None, row: dict[str, Any]) -> PeriodFigures:
    def spread(name: str) -> Spread:
        return Spread(
            row[f"{name}_count"], _seconds(row[f"{name}_p50"]), _seconds(row[f"{name}_p90"])
        )

    def target(at: str) -> Target:
        return Target(row[f"{at}_met"], row[f"{at}_missed"], row[f"{at}_pending"])

    mean = row["rating_mean"]
    return PeriodFigures(
        period=period,
        requests=row["requests"],
        to_accept=spread("to_accept"),
        to_arrive=spread("to_arrive"),
        accepted=target("accepted_at"),
        arrived=target("arrived_at"),
        non_arrivals=row["non_arrivals"],
        exceptions=row["exceptions"],
        rating_mean=None if mean is None else round(float(mean), 2),
        ratings=row["ratings"],
        complaints_opened=row["complaints_opened"],
        complaints_upheld=row["complaints_upheld"],
    )


def response_figures(
    *, scope: Scope, first: date, last: date, granularity: Granularity, now: datetime
) -> ResponseFigures:
    """The scope's figures for the local days `first` to `last` (by month: widened to whole
    months), per period and in all, as of `now` (which deadlines have passed). The caller
    checks who may see the district, that the provider is the district's, and the length."""
    first, last = period_bounds(first, last, granularity)
    by_period: dict[date, dict[str, Any]] = {}
    total: dict[str, Any] = {}
    empty: dict[str, Any] = {}
    for rows, moment, aggregates in _families(scope, first, last, now):
        for period, row in _grouped(rows, moment, aggregates, granularity).items():
            by_period.setdefault(period, {}).update(row)
        total.update(rows.aggregate(**aggregates))
        empty.update(_empty(aggregates))
    return ResponseFigures(
        scope=scope,
        granularity=granularity,
        first=first,
        last=last,
        time_zone=str(local_zone()),
        computed_at=now,
        periods=[
            _figures(start, empty | by_period.get(start, {}))
            for start in period_starts(first, last, granularity)
        ],
        total=_figures(None, total),
    )
