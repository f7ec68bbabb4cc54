from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy

from .payers import PAYER_ORDER, Payer


class EntitlementUnit(models.TextChoices):
    HOURS = "hours", gettext_lazy("Hours of service a month")
    AMOUNT = "amount", gettext_lazy("Yuan a month")


class Entitlement(models.Model):
    """What one payer covers of one elder's visits each month (hours or yuan), from `valid_from`
    until `valid_to` (inclusive; open while null). Set by the district: a new one ends the one in
    force the day before, never changes its quantity, so the rows are the history."""

    elder = models.ForeignKey("elders.Elder", on_delete=models.PROTECT, related_name="+")
    payer = models.CharField(max_length=20, choices=[(p.value, p.label) for p in PAYER_ORDER])
    unit = models.CharField(max_length=10, choices=EntitlementUnit.choices)
    monthly = models.DecimalField(max_digits=10, decimal_places=2)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True, help_text="The decision it rests on")
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["elder", "payer", "valid_from"], name="entitlement_elder")]
        constraints = [
            models.CheckConstraint(
                name="entitlement_monthly_positive", condition=Q(monthly__gte=0)
            ),
            models.CheckConstraint(
                name="entitlement_ends_after_start",
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
            ),
            models.UniqueConstraint(
                fields=["elder", "payer"],
                condition=Q(valid_to__isnull=True),
                name="entitlement_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payer} {self.monthly} {self.unit} for elder {self.elder_id}"


class Statement(models.Model):
    """A provider's monthly statement (结算单): every verified visit of the month or before not
    yet on a statement (so a visit verified late goes on the next one). Written as a draft and
    issued in the same transaction; once issued the database refuses to change or delete it or
    its lines (migration 0001's trigger)."""

    class State(models.TextChoices):
        DRAFT = "draft", gettext_lazy("Being written")
        ISSUED = "issued", gettext_lazy("Issued")

    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey("accounts.District", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="The first day of the month (Asia/Shanghai)")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    visits = models.PositiveIntegerField(default=0)
    held = models.PositiveIntegerField(default=0, help_text="Visits held back (open exceptions)")
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    ltc_insurance = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    district_subsidy = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    age_allowance = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    elder = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "month"], name="statement_once_a_month"),
            models.CheckConstraint(
                name="statement_payers_add_up",
                condition=Q(
                    total=F("ltc_insurance")
                    + F("district_subsidy")
                    + F("age_allowance")
                    + F("elder")
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Statement {self.pk}: provider {self.provider_id}, {self.month:%Y-%m}"


class StatementLine(models.Model):
    """One settled visit: its price as recorded at check-in and each payer's share."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines")
    visit = models.OneToOneField("dispatch.Visit", on_delete=models.PROTECT, related_name="+")
    elder = models.ForeignKey("elders.Elder", on_delete=models.PROTECT, related_name="+")
    service_code = models.CharField(max_length=30)
    checked_in_at = models.DateTimeField()
    hours = models.DecimalField(max_digits=8, decimal_places=4)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    price_unit = models.CharField(max_length=10)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    ltc_insurance = models.DecimalField(max_digits=12, decimal_places=2)
    district_subsidy = models.DecimalField(max_digits=12, decimal_places=2)
    age_allowance = models.DecimalField(max_digits=12, decimal_places=2)
    elder_share = models.DecimalField(max_digits=12, decimal_places=2)
    # Hours each payer covered (its entitlement in hours), counted against the month's hours.
    ltc_insurance_hours = models.DecimalField(max_digits=8, decimal_places=4, default=0)
    district_subsidy_hours = models.DecimalField(max_digits=8, decimal_places=4, default=0)
    age_allowance_hours = models.DecimalField(max_digits=8, decimal_places=4, default=0)

    class Meta:
        indexes = [models.Index(fields=["statement", "checked_in_at"], name="line_statement")]
        constraints = [
            models.CheckConstraint(
                name="line_payers_add_up",
                condition=Q(
                    amount=F("ltc_insurance")
                    + F("district_subsidy")
                    + F("age_allowance")
                    + F("elder_share")
                ),
            )
        ]

    def __str__(self) -> str:
        return f"Line of statement {self.statement_id}: visit {self.visit_id}"


# Each payer's column on the statement and on its lines (the line's hours column is the
# payer's column + "_hours"), in PAYER_ORDER then the elder.
STATEMENT_FIELD = {
    Payer.LTC_INSURANCE: "ltc_insurance",
    Payer.DISTRICT_SUBSIDY: "district_subsidy",
    Payer.AGE_ALLOWANCE: "age_allowance",
    Payer.ELDER: "elder",
}
LINE_FIELD = {**STATEMENT_FIELD, Payer.ELDER: "elder_share"}
