"""The payers of a visit and the one order they are applied in: long-term care insurance, then
the district's subsidy, then the advanced-age allowance; whatever remains falls to the elder.
Who may hold an entitlement from which payer (by what the elder's file records) is here too."""

from django.db import models
from django.utils.translation import gettext_lazy

from elders.models import Category, Elder


class Payer(models.TextChoices):
    LTC_INSURANCE = "ltc_insurance", gettext_lazy("Long-term care insurance (长期护理保险)")
    DISTRICT_SUBSIDY = "district_subsidy", gettext_lazy("District subsidy (政府补贴)")
    AGE_ALLOWANCE = "age_allowance", gettext_lazy("Advanced-age allowance (高龄津贴)")
    ELDER = "elder", gettext_lazy("The elder's co-payment (个人自付)")


# Applied in this order, each capped by the elder's entitlement for the month; the elder pays
# the remainder and holds no entitlement.
PAYER_ORDER: tuple[Payer, ...] = (Payer.LTC_INSURANCE, Payer.DISTRICT_SUBSIDY, Payer.AGE_ALLOWANCE)

# The district subsidy goes to these categories, or to an elder assessed at this care level
# or above (中度失能); the allowance to elders recorded as of advanced age (高龄).
SUBSIDY_CATEGORIES: frozenset[str] = frozenset(
    {Category.LOW_INCOME, Category.EXTREME_POVERTY, Category.DISABLED, Category.DEMENTIA}
)
SUBSIDY_CARE_LEVEL = 2


def payer_eligible(*, payer: str, elder: Elder) -> bool:
    """Whether the elder's file allows an entitlement from `payer`. Insurance: enrolment is
    what the entitlement records (the scheme's own office decides it, not this file)."""
    if payer == Payer.LTC_INSURANCE:
        return True
    if payer == Payer.DISTRICT_SUBSIDY:
        level = elder.care_level if elder.care_level is not None else -1
        return bool(SUBSIDY_CATEGORIES & set(elder.categories)) or level >= SUBSIDY_CARE_LEVEL
    if payer == Payer.AGE_ALLOWANCE:
        return Category.ADVANCED_AGE in elder.categories
    return False
