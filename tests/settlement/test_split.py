"""The pure split of a visit among payers."""

from datetime import datetime, timedelta
from decimal import Decimal

from settlement.payers import Payer
from settlement.split import Allowance, visit_amount, visit_hours, visit_split


def test_an_hourly_price_is_charged_for_the_exact_minutes():
    start = datetime(2025, 3, 1, 9)
    hours = visit_hours(start, start + timedelta(minutes=61))

    assert visit_amount(price=Decimal("25.00"), price_unit="hour", hours=hours) == Decimal("25.42")
    assert visit_amount(price=Decimal("25.00"), price_unit="visit", hours=hours) == Decimal("25.00")


def test_the_elder_pays_what_no_entitlement_covers_and_the_allowances_are_used_up():
    allowances = [
        Allowance(payer=Payer.LTC_INSURANCE, unit="amount", left=Decimal("0")),
        Allowance(payer=Payer.DISTRICT_SUBSIDY, unit="amount", left=Decimal("12.34")),
        Allowance(payer=Payer.AGE_ALLOWANCE, unit="hours", left=Decimal("1")),
    ]

    split = visit_split(amount=Decimal("40.00"), hours=Decimal("2"), allowances=allowances)

    # After 12.34 of subsidy, 27.66 (1.383 h) remain; the allowance covers 1 h of the 2: 20.00.
    assert split.shares == {
        Payer.LTC_INSURANCE: Decimal("0.00"),
        Payer.DISTRICT_SUBSIDY: Decimal("12.34"),
        Payer.AGE_ALLOWANCE: Decimal("20.00"),
        Payer.ELDER: Decimal("7.66"),
    }
    assert [a.left for a in allowances] == [Decimal("0"), Decimal("0.00"), Decimal("0")]
