"""Each provider's monthly quality score (docs/district.md, "Provider quality"), and those below
the district's threshold (ANXIN["QUALITY_THRESHOLD"]).

The month is a local month (Asia/Shanghai, backend/core/days.py). Its facts, per provider:
- verified visits checked in that month (dispatch.models.VISIT_VERIFIED), by the provider's
  workers; of them the punctual ones, checked in by the work order's arrival target;
- the ratings of those visits (mean, count);
- complaints about the provider's work orders upheld that month (decided then);
- the month's credit events of the kinds no other term already counts (CREDIT_ONLY_KINDS).

`quality_score` is the formula, in one place. Each fact is one query grouped by provider, in the
database; only the formula is applied here, per provider."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, F, Q, Sum

from backend.core.days import local_days_span
from providers.models import CreditEvent, CreditEventKind, Provider

from .models import Complaint, ComplaintState, Visit

# Credit events the score counts as such: the others are the visits (verified_visit), the
# punctuality (late_arrival) and the upheld complaints the score counts directly.
CREDIT_ONLY_KINDS = frozenset({CreditEventKind.NO_SHOW, CreditEventKind.PRAISE})
PUNCTUALITY_POINTS = Decimal(60)
RATING_POINTS = Decimal(40)
NEUTRAL_RATING = Decimal(3)  # a month with visits and no rating counts as three stars
UPHELD_COMPLAINT_POINTS = Decimal(10)
TENTH, HUNDREDTH = Decimal("0.1"), Decimal("0.01")


def quality_score(
    *,
    visits: int,
    punctual: int,
    rating_mean: Decimal | None,
    upheld_complaints: int,
    credit: Decimal,
) -> Decimal | None:
    """score = 60 × punctual / visits + 40 × (mean rating − 1) / 4
               − 10 × upheld complaints + credit (no-shows −5, praise +1 each),
    held between 0 and 100, rounded half up to 0.1; no score without a verified visit."""
    if visits == 0:
        return None
    rating = NEUTRAL_RATING if rating_mean is None else rating_mean
    score = (
        PUNCTUALITY_POINTS * punctual / visits
        + RATING_POINTS * (rating - 1) / 4
        - UPHELD_COMPLAINT_POINTS * upheld_complaints
        + credit
    )
    return min(max(score, Decimal(0)), Decimal(100)).quantize(TENTH, ROUND_HALF_UP)


@dataclass(frozen=True)
class ProviderQuality:
    provider_id: int
    name: str
    status: str
    visits: int
    punctual: int
    rating_mean: Decimal | None
    ratings: int
    upheld_complaints: int
    credit: Decimal
    score: Decimal | None
    below: bool

    @property
    def punctuality(self) -> float | None:
        return round(self.punctual / self.visits, 4) if self.visits else None


@dataclass(frozen=True)
class QualityReport:
    district_id: int
    month: date
    threshold: Decimal
    providers: list[ProviderQuality]  # lowest score first, the unscored last

    @property
    def below(self) -> list[ProviderQuality]:
        return [p for p in self.providers if p.below]

    @property
    def below_ids(self) -> list[int]:
        return [p.provider_id for p in self.below]


def month_span(month: date) -> tuple[date, date]:
    """The first and last local day of `month`'s month."""
    first = month.replace(day=1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def quality_threshold() -> Decimal:
    return Decimal(str(settings.ANXIN["QUALITY_THRESHOLD"]))


def provider_quality(*, district_id: int, month: date) -> QualityReport:
    """The district's providers (blacklisted ones too) scored for the local month of `month`.
    The caller checks who may see the district."""
    first, last = month_span(month)
    start, end = local_days_span(first, last)
    visits = {
        row["worker__provider"]: row
        for row in Visit.objects.filter(
            verified=True,
            worker__provider__district_id=district_id,
            checked_in_at__gte=start,
            checked_in_at__lt=end,
        )
        .values("worker__provider")
        .annotate(
            visits=Count("pk"),
            punctual=Count("pk", filter=Q(request__arrived_at__lte=F("request__arrive_due_at"))),
            rating_sum=Sum("request__feedback__rating"),
            ratings=Count("request__feedback"),
        )
        .order_by()
    }
    upheld = dict(
        Complaint.objects.filter(
            request__assigned_provider__district_id=district_id,
            state=ComplaintState.UPHELD,
            decided_at__gte=start,
            decided_at__lt=end,
        )
        .values_list("request__assigned_provider")
        .annotate(n=Count("pk"))
        .order_by()
    )
    credit = dict(
        CreditEvent.objects.filter(
            provider__district_id=district_id,
            kind__in=sorted(CREDIT_ONLY_KINDS),
            at__gte=start,
            at__lt=end,
        )
        .values_list("provider")
        .annotate(total=Sum("delta"))
        .order_by()
    )
    threshold = quality_threshold()
    rows = []
    for provider_id, name, status in Provider.objects.filter(district_id=district_id).values_list(
        "pk", "name", "status"
    ):
        facts = visits.get(provider_id, {})
        ratings = facts.get("ratings", 0)
        mean = Decimal(facts["rating_sum"]) / ratings if ratings else None
        score = quality_score(
            visits=facts.get("visits", 0),
            punctual=facts.get("punctual", 0),
            rating_mean=mean,
            upheld_complaints=upheld.get(provider_id, 0),
            credit=credit.get(provider_id) or Decimal(0),
        )
        rows.append(
            ProviderQuality(
                provider_id=provider_id,
                name=name,
                status=status,
                visits=facts.get("visits", 0),
                punctual=facts.get("punctual", 0),
                rating_mean=None if mean is None else mean.quantize(HUNDREDTH, ROUND_HALF_UP),
                ratings=ratings,
                upheld_complaints=upheld.get(provider_id, 0),
                credit=credit.get(provider_id) or Decimal(0),
                score=score,
                below=score is not None and score < threshold,
            )
        )
    rows.sort(key=lambda p: (p.score is None, p.score or 0, p.name))
    return QualityReport(district_id, first, threshold, rows)
