"""The alarm figures of the caller's district, per local day (docs/alarms.md, "Figures")."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alarms.figures import (
    DEFAULT_DAYS,
    EARLIEST_DAY,
    KINDS,
    MAX_DAYS,
    OUTCOMES,
    alarm_figures,
    figures_today,
)
from backend.accounts.models import STAFF_ROLES
from backend.core.permissions import require_role, signed_in


def _renamed(fields: dict, **names: str) -> dict:
    """`from` is a Python keyword: declared as `from_`, named `from` on the wire."""
    return {names.get(name, name): field for name, field in fields.items()}


class FiguresInput(serializers.Serializer):
    from_ = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        help_text=f"First local day, YYYY-MM-DD; default: {DEFAULT_DAYS - 1} days before `to`; "
        f"at most {MAX_DAYS} days in all",
    )
    to = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        help_text="Last local day (included), YYYY-MM-DD, at the latest today; default: today",
    )

    def get_fields(self):
        return _renamed(super().get_fields(), from_="from")

    def validate(self, attrs):
        today = figures_today()
        last = attrs.get("to") or today
        too_early = _("must be on or after %(day)s") % {"day": EARLIEST_DAY}
        if last > today:
            raise serializers.ValidationError(
                {"to": _("must not be after today (%(today)s)") % {"today": today}}
            )
        if last < EARLIEST_DAY:
            raise serializers.ValidationError({"to": too_early})
        first = attrs.get("from") or last - timedelta(days=DEFAULT_DAYS - 1)
        if first < EARLIEST_DAY:
            raise serializers.ValidationError({"from": too_early})
        if first > last and "to" not in attrs:  # `to` is today: it is `from` that is wrong
            raise serializers.ValidationError(
                {"from": _("must not be after today (%(today)s)") % {"today": today}}
            )
        if first > last:
            raise serializers.ValidationError({"to": _("must be on or after `from`")})
        if (last - first).days + 1 > MAX_DAYS:
            raise serializers.ValidationError(
                {"from": _("the period may be at most %(days)s days") % {"days": MAX_DAYS}}
            )
        return {"first": first, "last": last}


class FiguresSpreadOutput(serializers.Serializer):
    count = serializers.IntegerField(help_text="Alarms that reached this moment")
    p50_s = serializers.FloatField(allow_null=True, help_text="Median, seconds after received")
    p90_s = serializers.FloatField(allow_null=True, help_text="90th percentile, seconds")
    max_s = serializers.FloatField(allow_null=True, help_text="The longest, seconds")


class FiguresMarkOutput(serializers.Serializer):
    within_s = serializers.IntegerField(help_text="Acknowledged at most this long after received")
    promised_share = serializers.FloatField(
        allow_null=True, help_text="The telecare promise for this mark (none for the target)"
    )
    within = serializers.IntegerField()
    missed = serializers.IntegerField(
        help_text="Not acknowledged by the mark: later, closed without, or open past it"
    )
    pending = serializers.IntegerField(
        help_text="Still open, not yet past the mark: left out of the share"
    )
    share = serializers.FloatField(allow_null=True, help_text="within / (within + missed)")


def _counts(name: str, keys: list[str], help_text: str) -> serializers.Serializer:
    """A count per code (the codes from the models, not repeated here)."""
    fields = {key: serializers.IntegerField() for key in keys}
    return type(name, (serializers.Serializer,), fields)(help_text=help_text)


class FiguresDayOutput(serializers.Serializer):
    day = serializers.DateField(allow_null=True, help_text="The local day; null for the total")
    received = serializers.IntegerField(help_text="Alarms received that day")
    by_kind = _counts("AlarmKindCounts", KINDS, "Alarms by kind")
    late = serializers.IntegerField(help_text="Sent late by the device (its delay before us)")
    shown = FiguresSpreadOutput(help_text="Received to first seen by staff (a socket, the queue)")
    acknowledged = FiguresSpreadOutput(help_text="Received to acknowledged")
    acknowledged_within = FiguresMarkOutput(
        many=True, help_text="The target, then 60 s and 180 s (each mark once)"
    )
    dispatched = serializers.IntegerField(help_text="An emergency request was dispatched")
    dispatched_automatically = serializers.IntegerField(
        help_text="Dispatched by the platform, nobody having acknowledged in time"
    )
    on_site = FiguresSpreadOutput(help_text="Received to the check-in of the dispatched visit")
    outcomes = _counts("AlarmOutcomeCounts", OUTCOMES, "Closed alarms by outcome")
    not_closed = serializers.IntegerField(help_text="Not closed yet")


class FiguresOutput(serializers.Serializer):
    district = serializers.IntegerField(source="district_id")
    from_ = serializers.DateField(source="first")
    to = serializers.DateField(source="last")
    time_zone = serializers.CharField(help_text="Where the days begin and end")
    ack_target_s = serializers.IntegerField(help_text="The platform's acknowledgement target")
    computed_at = serializers.DateTimeField(help_text="Pending is as of then")
    days = FiguresDayOutput(many=True)
    total = FiguresDayOutput(help_text="The whole period (its percentiles over all its alarms)")

    def get_fields(self):
        return _renamed(super().get_fields(), from_="from")


class AlarmFiguresView(APIView):
    """Per local day: alarms received (by kind, late), received to seen, to acknowledged, to
    someone on site (p50, p90, max), the share acknowledged within the target, 60 s and 180 s,
    dispatches (automatic ones too) and outcomes. District staff, their own district."""

    @extend_schema(parameters=[FiguresInput], responses=FiguresOutput)
    def get(self, request: Request) -> Response:
        user = signed_in(request)
        require_role(user, STAFF_ROLES, _("see the alarm figures"))
        period = FiguresInput(data=request.query_params)
        period.is_valid(raise_exception=True)
        figures = alarm_figures(
            district_id=user.staff_district_id, now=timezone.now(), **period.validated_data
        )
        return Response(FiguresOutput(figures).data)
