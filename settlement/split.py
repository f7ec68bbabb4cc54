"""Pricing a visit and splitting it among payers: pure functions on Decimal, no database.

A visit's amount is its price recorded at check-in, times its hours when priced by the hour,
rounded half up to the fen. Each payer in PAYER_ORDER then covers what remains, up to what is
left of its entitlement this month: yuan, or hours (the share of the amount those hours are of
the visit's hours). The elder pays the rest, so the shares always add up to the amount.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from providers.models import PriceUnit

from .models import EntitlementUnit
from .payers import Payer

FEN = Decimal("0.01")
HOURS_PLACES = Decimal("0.0001")
ZERO = Decimal("0.00")


def to_fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def visit_hours(checked_in_at: datetime, checked_out_at: datetime) -> Decimal:
    """The visit's length in hours, exact (seconds / 3600), not yet rounded."""
    seconds = Decimal((checked_out_at - checked_in_at).total_seconds())
    return max(seconds, Decimal(0)) / Decimal(3600)


def visit_amount(*, price: Decimal, price_unit: str, hours: Decimal) -> Decimal:
    """Per hour: price x the exact hours; per visit or per meal: the price."""
    if price_unit == PriceUnit.HOUR:
        return to_fen(price * hours)
    return to_fen(price)


@dataclass
class Allowance:
    """What is left of one payer's entitlement this month; used up as visits are split."""

    payer: Payer
    unit: str
    left: Decimal


@dataclass(frozen=True)
class Split:
    shares: dict[Payer, Decimal]  # every payer of PAYER_ORDER and the elder, in that order
    hours_used: dict[Payer, Decimal]


def visit_split(*, amount: Decimal, hours: Decimal, allowances: list[Allowance]) -> Split:
    """Split `amount` among `allowances` (in PAYER_ORDER; a payer without an entitlement is
    absent or has nothing left), decreasing each allowance by what it covered."""
    shares: dict[Payer, Decimal] = {}
    hours_used: dict[Payer, Decimal] = {}
    left_amount, left_hours = amount, hours
    for allowance in allowances:
        pay, used = ZERO, Decimal(0)
        if left_amount > 0 and allowance.left > 0:
            if allowance.unit == EntitlementUnit.AMOUNT:
                pay = min(left_amount, allowance.left)
                used = pay
            elif left_hours > 0:
                used = min(left_hours, allowance.left)
                pay = (
                    left_amount
                    if used == left_hours
                    else min(to_fen(amount * used / hours), left_amount)
                )
            allowance.left -= used
        shares[allowance.payer] = pay
        hours_used[allowance.payer] = (
            used if allowance.unit == EntitlementUnit.HOURS else Decimal(0)
        )
        left_amount -= pay
        left_hours -= (
            used
            if allowance.unit == EntitlementUnit.HOURS
            else (hours * pay / amount if amount else Decimal(0))
        )
    shares[Payer.ELDER] = left_amount
    return Split(shares=shares, hours_used=hours_used)
