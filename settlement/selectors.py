"""Reads of settlement, scoped to the caller: a district's staff see their district, a
provider's admins their own provider's statements (through providers_visible_to)."""

from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from backend.accounts.models import User
from backend.core.days import local_days_span, local_zone
from dispatch.models import ExceptionState, Visit
from elders.models import Elder
from elders.selectors import elders_visible_to
from providers.selectors import providers_visible_to

from .models import LINE_FIELD, Entitlement, Statement, StatementLine
from .payers import PAYER_ORDER

# A checked-out visit whose geofence exception is still open or was rejected: not settled.
HELD_EXCEPTIONS = (ExceptionState.PENDING, ExceptionState.REJECTED)


def month_first(value: date) -> date:
    return value.replace(day=1)


def month_next(first: date) -> date:
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def month_span(first: date) -> tuple[datetime, datetime]:
    """The month's first moment and the next month's, in the platform's days (Asia/Shanghai)."""
    start, _ = local_days_span(first, first)
    end, _ = local_days_span(month_next(first), month_next(first))
    return start, end


def statements_visible_to(user: User) -> QuerySet[Statement]:
    return Statement.objects.filter(
        provider__in=providers_visible_to(user), state=Statement.State.ISSUED
    ).order_by("-month", "-pk")


def entitlements_of(*, elder_id: int) -> QuerySet[Entitlement]:
    """The elder's entitlements, every one ever set (the history), newest first per payer."""
    return Entitlement.objects.filter(elder_id=elder_id).order_by("payer", "-valid_from", "-pk")


def _on_a_statement() -> Exists:
    return Exists(StatementLine.objects.filter(visit_id=OuterRef("pk")))


def visits_to_settle(*, provider_id: int, month: date) -> QuerySet[Visit]:
    """Verified visits of the provider's workers checked in before the month's end and on no
    statement yet (a visit verified after its month's statement goes on the next one), in
    elder, then check-in order: the order entitlements are used up in."""
    _, end = month_span(month)
    return (
        Visit.objects.filter(
            worker__provider_id=provider_id,
            verified=True,
            price__isnull=False,
            checked_in_at__lt=end,
        )
        .exclude(_on_a_statement())
        .order_by("elder_id", "checked_in_at", "pk")
    )


def visits_held(*, provider_id: int, month: date) -> QuerySet[Visit]:
    """The month's checked-out visits held back: an open or rejected exception, or no price on
    the provider's list at check-in."""
    start, end = month_span(month)
    return (
        Visit.objects.filter(
            worker__provider_id=provider_id,
            checked_out_at__isnull=False,
            checked_in_at__gte=start,
            checked_in_at__lt=end,
        )
        .filter(Q(exception_state__in=HELD_EXCEPTIONS) | Q(verified=True, price__isnull=True))
        .exclude(_on_a_statement())
        .order_by("checked_in_at", "pk")
    )


def entitlements_in_force(
    *, elder_ids: Collection[int], first: date, last: date
) -> QuerySet[Entitlement]:
    """Entitlements of these elders in force on any day from `first` to `last`."""
    return Entitlement.objects.filter(elder_id__in=elder_ids, valid_from__lte=last).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=first)
    )


def used_on_statements(*, elder_ids: Collection[int], since: datetime) -> QuerySet[Any]:
    """Per elder, local month and payer: yuan and hours already covered on statements, summed
    in the database."""
    sums: dict[str, Any] = {}
    for payer in PAYER_ORDER:
        column = LINE_FIELD[payer]
        sums[f"{payer}_amount"] = Sum(column)
        sums[f"{payer}_hours"] = Sum(f"{column}_hours")
    return (
        StatementLine.objects.filter(elder_id__in=elder_ids, checked_in_at__gte=since)
        .annotate(local_month=TruncMonth("checked_in_at", tzinfo=local_zone()))
        .values("elder_id", "local_month")
        .annotate(**sums)
    )


def statement_totals(*, statement_id: int) -> dict[str, Decimal]:
    """The sums of the statement's lines, by the database."""
    sums = {field: Sum(field) for field in ["amount", *LINE_FIELD.values()]}
    return StatementLine.objects.filter(statement_id=statement_id).aggregate(**sums)


def elder_name_for(*, user: User, elder_ids: set[int]) -> dict[int, str]:
    """How the caller may name each elder on a statement: the full name where the caller may
    see the elder's file (elders_visible_to: a provider admin sees the elders their workers
    served), else the surname and a mask (张**)."""
    visible = set(elders_visible_to(user).filter(pk__in=elder_ids).values_list("pk", flat=True))
    names = dict(Elder.objects.filter(pk__in=elder_ids).values_list("pk", "full_name"))
    return {pk: name if pk in visible else _masked(name) for pk, name in names.items()}


def _masked(full_name: str) -> str:
    name = full_name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1)
