"""Writes of settlement: the district sets entitlements and issues statements. Each writes its
audit Event in the same transaction."""

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from backend.accounts.models import District, User
from backend.core.days import local_today, local_zone
from backend.core.errors import DomainError, StateConflict
from backend.core.events import event_record
from elders.models import Elder
from elders.services import access_log_record_many
from providers.models import Provider
from providers.selectors import provider_admin_ids

from . import selectors
from .models import (
    LINE_FIELD,
    STATEMENT_FIELD,
    Entitlement,
    EntitlementUnit,
    Statement,
    StatementLine,
)
from .payers import PAYER_ORDER, Payer, payer_eligible
from .split import Allowance, visit_amount, visit_hours, visit_split


class SettlementRefused(DomainError):
    """400 naming the field and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason, code="invalid", fields={field: [reason]})


def _last_settled_month(district_id: int) -> date | None:
    last = (
        Statement.objects.filter(district_id=district_id, state=Statement.State.ISSUED)
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )
    return last


@transaction.atomic
def entitlement_set(
    *,
    actor: User,
    elder: Elder,
    payer: str,
    unit: str,
    monthly: Decimal,
    valid_from: date,
    note: str = "",
) -> Entitlement:
    """Give the elder a monthly entitlement from `payer` from `valid_from` on. The one in force
    ends the day before (its quantity is never changed). Not for a month already settled in the
    district: statements issued stay as they were, corrections go on the next one."""
    elder = Elder.objects.select_for_update().get(pk=elder.pk)
    if payer not in PAYER_ORDER:
        raise SettlementRefused(
            "payer", _("The elder's co-payment is the remainder: it has no entitlement.")
        )
    if not payer_eligible(payer=payer, elder=elder):
        raise SettlementRefused(
            "payer", _("The elder's file (category, care level) does not qualify for this payer.")
        )
    settled = _last_settled_month(elder.district_id)
    if settled is not None and valid_from < selectors.month_next(settled):
        raise SettlementRefused(
            "valid_from",
            _("Statements are issued up to %(month)s: start from the month after.")
            % {"month": settled.strftime("%Y-%m")},
        )
    current = Entitlement.objects.filter(elder=elder, payer=payer, valid_to__isnull=True).first()
    if current is not None:
        if valid_from <= current.valid_from:
            raise SettlementRefused(
                "valid_from", _("Must be after the start of the entitlement in force.")
            )
        current.valid_to = valid_from - timedelta(days=1)
        current.save(update_fields=["valid_to"])
    entitlement = Entitlement.objects.create(
        elder=elder,
        payer=payer,
        unit=unit,
        monthly=monthly,
        valid_from=valid_from,
        note=note,
        set_by=actor,
    )
    event_record(
        kind="entitlement.set",
        subject_type="elder",
        subject_id=elder.pk,
        actor=actor,
        after=payer,
        data={
            "entitlement": entitlement.pk,
            "payer": payer,
            "unit": unit,
            "monthly": str(monthly),
            "valid_from": valid_from.isoformat(),
            "ended": current.pk if current else None,
        },
        district_id=elder.district_id,
    )
    return entitlement


class _Ledger:
    """What is left of each elder's entitlements per month, as visits use it up: entitlements
    and what issued statements already covered are read once, summed in the database."""

    def __init__(self, *, month: date, rows: list[tuple]) -> None:
        elder_ids = sorted({row[1] for row in rows})
        first_visit = min((row[3] for row in rows), default=None)
        since = (
            selectors.month_first(first_visit.astimezone(local_zone()).date())
            if first_visit
            else month
        )
        start, _ = selectors.month_span(since)
        self.entitlements: dict[tuple[int, str], list[Entitlement]] = defaultdict(list)
        for e in selectors.entitlements_in_force(
            elder_ids=elder_ids, first=since, last=selectors.month_next(month) - timedelta(days=1)
        ).order_by("valid_from"):
            self.entitlements[(e.elder_id, e.payer)].append(e)
        self.used: dict[tuple[int, date, str], Decimal] = defaultdict(Decimal)
        for row in selectors.used_on_statements(elder_ids=elder_ids, since=start):
            month_of = row["local_month"].date()
            for payer in PAYER_ORDER:
                self.used[(row["elder_id"], month_of, payer)] = row[f"{payer}_amount"] or Decimal(0)
                self.used[(row["elder_id"], month_of, f"{payer}:h")] = row[
                    f"{payer}_hours"
                ] or Decimal(0)

    def allowances(self, *, elder_id: int, day: date) -> list[Allowance]:
        out = []
        for payer in PAYER_ORDER:
            entitlement = next(
                (
                    e
                    for e in self.entitlements.get((elder_id, payer), ())
                    if e.valid_from <= day and (e.valid_to is None or e.valid_to >= day)
                ),
                None,
            )
            if entitlement is None:
                out.append(
                    Allowance(payer=Payer(payer), unit=EntitlementUnit.AMOUNT, left=Decimal(0))
                )
                continue
            key = payer if entitlement.unit == EntitlementUnit.AMOUNT else f"{payer}:h"
            used = self.used[(elder_id, selectors.month_first(day), key)]
            out.append(
                Allowance(
                    payer=Payer(payer),
                    unit=entitlement.unit,
                    left=max(entitlement.monthly - used, Decimal(0)),
                )
            )
        return out

    def use(self, *, elder_id: int, day: date, allowances: list[Allowance], split: Any) -> None:
        first = selectors.month_first(day)
        for allowance in allowances:
            self.used[(elder_id, first, allowance.payer)] += split.shares[allowance.payer]
            self.used[(elder_id, first, f"{allowance.payer}:h")] += split.hours_used[
                allowance.payer
            ]


def settlement_lines(
    *, provider_id: int, month: date, statement: Statement
) -> Iterator[StatementLine]:
    """The month's lines of the provider, split among payers in visit order (unsaved)."""
    visits = selectors.visits_to_settle(provider_id=provider_id, month=month)
    zone = local_zone()
    rows = list(
        visits.values_list(
            "pk",
            "elder_id",
            "service_type__code",
            "checked_in_at",
            "checked_out_at",
            "price",
            "price_unit",
        )
    )
    ledger = _Ledger(month=month, rows=rows)
    for pk, elder_id, code, checked_in_at, checked_out_at, price, unit in rows:
        if checked_out_at is None or price is None:  # a verified visit has both: the query says so
            raise ValueError(f"visit {pk} is not settleable")
        day = checked_in_at.astimezone(zone).date()
        hours = visit_hours(checked_in_at, checked_out_at)
        amount = visit_amount(price=price, price_unit=unit, hours=hours)
        allowances = ledger.allowances(elder_id=elder_id, day=day)
        split = visit_split(amount=amount, hours=hours, allowances=allowances)
        ledger.use(elder_id=elder_id, day=day, allowances=allowances, split=split)
        values: dict[str, Any] = {}
        for payer, share in split.shares.items():
            values[LINE_FIELD[payer]] = share
            if payer != Payer.ELDER:
                values[f"{LINE_FIELD[payer]}_hours"] = split.hours_used[payer].quantize(
                    Decimal("0.0001")
                )
        yield StatementLine(
            statement=statement,
            visit_id=pk,
            elder_id=elder_id,
            service_code=code,
            checked_in_at=checked_in_at,
            hours=hours.quantize(Decimal("0.0001")),
            price=price,
            price_unit=unit,
            amount=amount,
            **values,
        )


def _lines_copy(lines: list[StatementLine]) -> None:
    """Insert the lines with COPY: at a month's scale, bulk_create spends more time building
    the SQL than PostgreSQL spends storing the rows. The same triggers and constraints apply."""
    columns = [
        field.column for field in StatementLine._meta.concrete_fields if not field.primary_key
    ]
    names = [
        field.attname for field in StatementLine._meta.concrete_fields if not field.primary_key
    ]
    sql = f"COPY settlement_statementline ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for line in lines:
            copy.write_row([getattr(line, name) for name in names])


def _line_statistics_kept() -> None:
    """Whether a visit is on a statement yet is an anti-join on the lines. Planned from
    statistics taken while the table was empty (a new district, or autovacuum after a rolled
    back run), it reads every line written so far for each statement, so a month issued
    statement after statement slows as its square (docs/district.md, "Benchmark"). The table is
    analysed again whenever it holds rows its statistics say nothing of, or has more than doubled
    since: a handful of times in its life. Inside the transaction: it sees the lines just
    written."""
    table = StatementLine._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples, relpages,"
            " pg_relation_size(oid) / current_setting('block_size')::int"
            " FROM pg_class WHERE oid = %s::regclass",
            [table],
        )
        planned_rows, planned_pages, pages = cursor.fetchone()
        if pages > 0 and (planned_rows <= 0 or pages > 2 * planned_pages):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


@transaction.atomic
def statement_issue(*, actor: User, provider: Provider, month: date) -> Statement:
    """Settle the provider's month and issue its statement, once. The district's row is locked
    so that two statements never use up the same elder's entitlement at once."""
    month = selectors.month_first(month)
    if month >= selectors.month_first(local_today()):
        raise SettlementRefused("month", _("Only a month that is over can be settled."))
    District.objects.select_for_update().filter(pk=provider.district_id).first()
    if Statement.objects.filter(provider=provider, month=month).exists():
        raise StateConflict(
            _("This provider's statement for this month is already issued."), current_state="issued"
        )
    statement = Statement.objects.create(
        provider=provider, district_id=provider.district_id, month=month, issued_by=actor
    )
    # Computed before the COPY starts: no other query may run on the connection during it.
    _lines_copy(list(settlement_lines(provider_id=provider.pk, month=month, statement=statement)))
    _line_statistics_kept()
    sums = selectors.statement_totals(statement_id=statement.pk)
    statement.total = sums["amount"] or Decimal("0.00")
    for payer, field in STATEMENT_FIELD.items():
        setattr(statement, field, sums[LINE_FIELD[payer]] or Decimal("0.00"))
    statement.visits = statement.lines.count()
    statement.held = selectors.visits_held(provider_id=provider.pk, month=month).count()
    statement.state = Statement.State.ISSUED
    statement.save()
    event_record(
        kind="statement.issued",
        subject_type="statement",
        subject_id=statement.pk,
        actor=actor,
        after=Statement.State.ISSUED,
        data={
            "provider": provider.pk,
            "month": month.strftime("%Y-%m"),
            "visits": statement.visits,
            "held": statement.held,
            "total": str(statement.total),
        },
        district_id=provider.district_id,
        recipients=provider_admin_ids(provider_id=provider.pk),
    )
    return statement


def statement_export_logged(
    *, user: User, statement: Statement, elder_ids: set[int], what: str
) -> None:
    """An export shows elders' names and services: one access-log row per elder on it."""
    purpose = f"statement {statement.pk} {statement.month:%Y-%m} {what} export"
    access_log_record_many(
        user=user, reads=[(elder_id, purpose) for elder_id in sorted(elder_ids)], field="settlement"
    )
