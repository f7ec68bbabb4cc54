"""A month's settlement on small districts whose answers are worked out by hand."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from backend.core.days import local_today
from backend.core.errors import StateConflict
from backend.core.models import Event
from dispatch.models import Visit
from settlement.models import Statement, StatementLine
from settlement.payers import Payer
from settlement.selectors import month_next
from settlement.services import SettlementRefused, statement_issue
from tests import factories as f

from .world import MONTH, World, at

pytestmark = pytest.mark.django_db

SUBSIDY, ALLOWANCE, LTC = Payer.DISTRICT_SUBSIDY, Payer.AGE_ALLOWANCE, Payer.LTC_INSURANCE


def shares(visit: Visit) -> tuple[str, str, str, str, str]:
    line = StatementLine.objects.get(visit=visit)
    return tuple(  # type: ignore[return-value]
        str(v)
        for v in (
            line.amount,
            line.ltc_insurance,
            line.district_subsidy,
            line.age_allowance,
            line.elder_share,
        )
    )


def test_two_payers_in_order_the_subsidy_capped_then_the_allowance_then_the_elder():
    w = World()
    elder = w.elder(categories=["low_income", "advanced_age"])
    w.entitle(elder, SUBSIDY, "amount", "50.00")
    w.entitle(elder, ALLOWANCE, "amount", "20.00")
    first, second, third = (w.visit(elder, at(day)) for day in (3, 10, 17))

    statement = statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    assert shares(first) == ("30.00", "0.00", "30.00", "0.00", "0.00")
    assert shares(second) == ("30.00", "0.00", "20.00", "10.00", "0.00")  # subsidy used up
    assert shares(third) == ("30.00", "0.00", "0.00", "10.00", "20.00")  # the elder the rest
    assert (statement.visits, statement.total) == (3, Decimal("90.00"))
    assert (statement.district_subsidy, statement.age_allowance, statement.elder) == (
        Decimal("50.00"),
        Decimal("20.00"),
        Decimal("20.00"),
    )


def test_an_hours_entitlement_is_capped_by_the_hours_used_that_month_in_visit_order():
    w = World()
    elder = w.elder(care_level=3)
    w.entitle(elder, LTC, "hours", "2")
    w.entitle(elder, SUBSIDY, "amount", "10.00")
    long = w.visit(elder, at(5), minutes=90, price="40.00", unit="hour")  # 60.00, 1.5 h
    short = w.visit(elder, at(12), minutes=60, price="40.00", unit="hour")  # 40.00, 1 h

    statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    assert shares(long) == ("60.00", "60.00", "0.00", "0.00", "0.00")
    # 0.5 h left of insurance: 20.00; the subsidy 10.00; the elder 10.00.
    assert shares(short) == ("40.00", "20.00", "10.00", "0.00", "10.00")
    assert StatementLine.objects.get(visit=short).ltc_insurance_hours == Decimal("0.5")


def test_amounts_round_half_up_to_the_fen():
    w = World()
    elder = w.elder(care_level=3)
    w.entitle(elder, LTC, "hours", "0.5")
    half_hour = w.visit(elder, at(4), minutes=30, price="30.01", unit="hour")  # 15.005
    hour = w.visit(elder, at(6), minutes=60, price="30.01", unit="hour")

    statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    # 15.005 is 15.01, not the banker's 15.00; insurance's half hour is used up by it.
    assert shares(half_hour) == ("15.01", "15.01", "0.00", "0.00", "0.00")
    assert shares(hour) == ("30.01", "0.00", "0.00", "0.00", "30.01")


def test_a_partly_covered_hour_rounds_half_up_and_the_elder_takes_the_rest():
    w = World()
    elder = w.elder(care_level=3)
    w.entitle(elder, LTC, "hours", "0.5")
    visit = w.visit(elder, at(4), minutes=60, price="30.01", unit="hour")

    statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    assert shares(visit) == ("30.01", "15.01", "0.00", "0.00", "15.00")  # 15.005 -> 15.01


def test_visits_with_an_open_or_rejected_exception_are_held_and_settled_once_approved():
    w = World()
    elder = w.elder(categories=["low_income"])
    w.entitle(elder, SUBSIDY, "amount", "100.00")
    settled = w.visit(elder, at(2))
    pending = w.visit(elder, at(3), exception="pending")
    w.visit(elder, at(4), exception="rejected")

    statement = statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    assert list(statement.lines.values_list("visit_id", flat=True)) == [settled.pk]
    assert (statement.visits, statement.held, statement.total) == (1, 2, Decimal("30.00"))

    Visit.objects.filter(pk=pending.pk).update(exception_state="approved")
    later = statement_issue(actor=w.admin, provider=w.provider, month=month_next(MONTH))

    # Approved after its month's statement: it goes on the next one, still within March's
    # subsidy (30.00 of 100.00 used).
    assert list(later.lines.values_list("visit_id", flat=True)) == [pending.pk]
    assert shares(pending) == ("30.00", "0.00", "30.00", "0.00", "0.00")
    assert later.held == 0


def test_the_sum_of_the_lines_equals_the_totals_exactly():
    w = World()
    elders = [w.elder(f"李{n}", care_level=3) for n in range(3)]
    for n, elder in enumerate(elders):
        w.entitle(elder, LTC, "hours", "1.3")
        for day in (1, 8, 15):
            w.visit(elder, at(day, 8 + n), minutes=37 + day, price="33.33", unit="hour")

    statement = statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    lines = list(statement.lines.all())
    assert len(lines) == 9
    assert sum(line.amount for line in lines) == statement.total
    assert sum(line.ltc_insurance for line in lines) == statement.ltc_insurance
    assert sum(line.elder_share for line in lines) == statement.elder
    assert statement.total == statement.ltc_insurance + statement.elder
    assert statement.ltc_insurance > 0 and statement.elder > 0


def test_a_statement_is_issued_once_for_a_month_that_is_over():
    w = World()
    statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    with pytest.raises(StateConflict):
        statement_issue(actor=w.admin, provider=w.provider, month=MONTH)
    with pytest.raises(SettlementRefused):
        statement_issue(actor=w.admin, provider=w.provider, month=local_today())


def test_issuing_records_an_event_for_the_district_and_the_providers_admins():
    w = World()
    statement = statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    event = Event.objects.get(kind="statement.issued", subject_id=statement.pk)
    assert event.district_id == w.district.pk
    assert event.recipients == [w.provider_admin.pk]
    assert event.data["month"] == "2025-03"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE settlement_statement SET total = total + 1, elder = elder + 1 WHERE id = %s",
        "DELETE FROM settlement_statement WHERE id = %s",
        "UPDATE settlement_statementline SET elder_share = 0, amount = 0 WHERE statement_id = %s",
        "DELETE FROM settlement_statementline WHERE statement_id = %s",
    ],
)
def test_an_issued_statement_and_its_lines_refuse_raw_changes(sql):
    w = World()
    elder = w.elder()
    w.visit(elder, at(2))
    statement = statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    with (
        pytest.raises(IntegrityError, match="issued"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [statement.pk])

    assert Statement.objects.get(pk=statement.pk).total == Decimal("30.00")


def test_no_line_can_be_added_to_an_issued_statement():
    w = World()
    elder = w.elder()
    statement = statement_issue(actor=w.admin, provider=w.provider, month=MONTH)
    visit = w.visit(elder, at(5))
    line = StatementLine(
        statement=statement,
        visit=visit,
        elder=elder,
        service_code="cleaning",
        checked_in_at=visit.checked_in_at,
        hours=1,
        price=30,
        price_unit="visit",
        amount=30,
        ltc_insurance=0,
        district_subsidy=0,
        age_allowance=0,
        elder_share=30,
    )

    with pytest.raises(IntegrityError, match="issued"), transaction.atomic():
        line.save()


def test_what_another_providers_statement_covered_counts_against_the_month():
    w = World()
    elder = w.elder(categories=["low_income"])
    w.entitle(elder, SUBSIDY, "amount", "40.00")
    other = f.WorkerFactory(provider=f.ProviderFactory(district=w.district))
    w.visit(elder, at(20), worker=other)  # 30.00 of the 40.00, settled first
    ours = w.visit(elder, at(5))

    statement_issue(actor=w.admin, provider=other.provider, month=MONTH)
    statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    assert shares(ours) == ("30.00", "0.00", "10.00", "0.00", "20.00")


def test_an_entitlement_raised_mid_month_caps_what_is_left_of_the_month():
    w = World()
    elder = w.elder(categories=["low_income"])
    w.entitle(elder, SUBSIDY, "amount", "20.00")
    w.entitle(elder, SUBSIDY, "amount", "50.00", since=MONTH.replace(day=15))
    early, late = w.visit(elder, at(3)), w.visit(elder, at(20))

    statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    assert shares(early) == ("30.00", "0.00", "20.00", "0.00", "10.00")
    assert shares(late) == ("30.00", "0.00", "30.00", "0.00", "0.00")  # 50.00 - 20.00 used


def test_issuing_keeps_the_lines_statistics_from_saying_the_table_is_empty():
    """Planned from statistics that say the lines table is empty, the anti-join that finds the
    visits not yet settled reads every line ever written, for each statement: issuing analyses
    the table again once it holds rows its statistics know nothing of."""
    w = World()
    elder = w.elder()
    for day in (3, 10, 17):
        w.visit(elder, at(day))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE settlement_statementline")  # taken while it is empty

    statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = 'settlement_statementline'::regclass"
        )
        assert cursor.fetchone()[0] == 3
