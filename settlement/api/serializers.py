import re
from datetime import date

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from settlement.models import Entitlement, EntitlementUnit, Statement
from settlement.payers import PAYER_ORDER


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-11"})
class MonthField(serializers.Field):
    """A month as "YYYY-MM", read as its first day."""

    def to_internal_value(self, data: object) -> date:
        if not isinstance(data, str) or not re.fullmatch(r"\d{4}-\d{2}", data):
            raise serializers.ValidationError(_("a month as YYYY-MM, e.g. 2026-11"))
        year, month = int(data[:4]), int(data[5:])
        if not 1 <= month <= 12:
            raise serializers.ValidationError(_("a month as YYYY-MM, e.g. 2026-11"))
        return date(year, month, 1)

    def to_representation(self, value: date) -> str:
        return value.strftime("%Y-%m")


class EntitlementInput(serializers.Serializer):
    payer = serializers.ChoiceField(choices=[(p.value, p.label) for p in PAYER_ORDER])
    unit = serializers.ChoiceField(choices=EntitlementUnit.choices)
    monthly = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    valid_from = serializers.DateField()
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class EntitlementOutput(serializers.ModelSerializer):
    class Meta:
        model = Entitlement
        fields = [
            "id",
            "payer",
            "unit",
            "monthly",
            "valid_from",
            "valid_to",
            "note",
            "set_by",
            "set_at",
        ]


class StatementInput(serializers.Serializer):
    month = MonthField()


class StatementOutput(serializers.ModelSerializer):
    month = MonthField(read_only=True)

    class Meta:
        model = Statement
        fields = [
            "id",
            "provider",
            "month",
            "visits",
            "held",
            "total",
            "ltc_insurance",
            "district_subsidy",
            "age_allowance",
            "elder",
            "issued_by",
            "issued_at",
        ]


class HeldVisitOutput(serializers.Serializer):
    id = serializers.IntegerField()
    checked_in_at = serializers.DateTimeField()
    exception_state = serializers.CharField()
    price = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)
