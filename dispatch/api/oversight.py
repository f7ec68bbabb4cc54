"""The district's oversight figures (docs/district.md): response figures per period, and the
providers' monthly quality. Supervisors and district administrators, their own district only;
the console's district pages render these same answers."""

from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import SUPERVISION_ROLES, User
from backend.core.days import local_today
from backend.core.permissions import require_role, signed_in
from dispatch.models import ServiceType
from dispatch.quality import provider_quality
from dispatch.response_figures import (
    GRANULARITIES,
    MAX_PERIODS,
    Scope,
    period_bounds,
    period_starts,
    response_figures,
)
from providers.selectors import providers_visible_to

# No figure is older than this; a date before it is a mistake, not a question.
EARLIEST_DAY = date(2000, 1, 1)
# The periods shown when none are asked for: the last week by day, the last half-year by month.
DEFAULT_PERIODS = {"day": 7, "month": 6}


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


class ResponseFiguresInput(serializers.Serializer):
    from_ = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        help_text="First local day, YYYY-MM-DD (by month: its month); default: the last week "
        "by day, the last six months by month",
    )
    to = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        help_text="Last local day (included), YYYY-MM-DD, at the latest today; default: today",
    )
    granularity = serializers.ChoiceField(choices=GRANULARITIES, default="day")
    provider = serializers.IntegerField(required=False, help_text="One provider of the district")
    service_type = serializers.SlugField(required=False, help_text="A service type's code")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate_provider(self, value: int) -> int:
        user = self.context["user"]
        if not providers_visible_to(user).filter(pk=value).exists():
            raise serializers.ValidationError(_("no such provider in your district"))
        return value

    def validate_service_type(self, value: str) -> str:
        if not ServiceType.objects.filter(code=value).exists():
            raise serializers.ValidationError(_("no such service type"))
        return value

    def validate(self, attrs):
        today = local_today()
        granularity = attrs["granularity"]
        last = attrs.get("to") or today
        if last > today:
            raise serializers.ValidationError(
                {"to": _("must not be after today (%(today)s)") % {"today": today}}
            )
        if "from" in attrs:
            first = attrs["from"]
        elif granularity == "day":
            first = last - timedelta(days=DEFAULT_PERIODS["day"] - 1)
        else:
            first = _months_back(last, DEFAULT_PERIODS["month"] - 1)
        if first < EARLIEST_DAY:
            raise serializers.ValidationError(
                {"from": _("must be on or after %(day)s") % {"day": EARLIEST_DAY}}
            )
        if first > last:
            raise serializers.ValidationError({"from": _("must be on or before `to`")})
        if len(period_starts(first, last, granularity)) > MAX_PERIODS[granularity]:
            raise serializers.ValidationError(
                {
                    "from": _("the question may cover at most %(n)s periods of a %(unit)s")
                    % {"n": MAX_PERIODS[granularity], "unit": granularity}
                }
            )
        first, last = period_bounds(first, last, granularity)
        return {**attrs, "first": first, "last": last}


class SpreadOutput(serializers.Serializer):
    count = serializers.IntegerField(help_text="Work orders that reached this moment")
    p50_s = serializers.FloatField(allow_null=True, help_text="Median, seconds")
    p90_s = serializers.FloatField(allow_null=True, help_text="90th percentile, seconds")


class TargetOutput(serializers.Serializer):
    met = serializers.IntegerField()
    missed = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Not yet due: left out of the share")
    share = serializers.FloatField(allow_null=True, help_text="met / (met + missed)")


class PeriodOutput(serializers.Serializer):
    period = serializers.DateField(
        allow_null=True, help_text="The local day, or the month's first day; null for the total"
    )
    requests = serializers.IntegerField(help_text="Work orders that came in")
    to_accept = SpreadOutput(help_text="Matching's start to accepted")
    to_arrive = SpreadOutput(help_text="The window's start to the check-in, verified visits")
    accepted = TargetOutput(help_text="Accepted within the accept target")
    arrived = TargetOutput(help_text="On site within the arrival target")
    non_arrivals = serializers.IntegerField(help_text="No check-in by the end of the window")
    exceptions = serializers.IntegerField(help_text="Check-ins outside the geofence")
    rating_mean = serializers.FloatField(allow_null=True, help_text="Of verified visits, 1 to 5")
    ratings = serializers.IntegerField()
    complaints_opened = serializers.IntegerField()
    complaints_upheld = serializers.IntegerField(help_text="Of those opened, upheld by now")


class ResponseFiguresOutput(serializers.Serializer):
    district = serializers.IntegerField(source="scope.district_id")
    provider = serializers.IntegerField(source="scope.provider_id", allow_null=True)
    service_type = serializers.CharField(source="scope.service_type", allow_null=True)
    granularity = serializers.CharField()
    from_ = serializers.DateField(source="first")
    to = serializers.DateField(source="last")
    time_zone = serializers.CharField(help_text="Where the days and months begin and end")
    computed_at = serializers.DateTimeField(help_text="Pending is as of then")
    periods = PeriodOutput(many=True)
    total = PeriodOutput(help_text="The whole question (its percentiles over all its rows)")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


def response_figures_for(user: User, query: dict) -> dict:
    """The API's answer to `query` (the request's parameters) for `user`: the view's, and the
    console's pages'. Raises the serializer's ValidationError on bad input."""
    params = ResponseFiguresInput(data=query, context={"user": user})
    params.is_valid(raise_exception=True)
    data = params.validated_data
    figures = response_figures(
        scope=Scope(
            district_id=user.staff_district_id,
            provider_id=data.get("provider"),
            service_type=data.get("service_type"),
        ),
        first=data["first"],
        last=data["last"],
        granularity=data["granularity"],
        now=timezone.now(),
    )
    return ResponseFiguresOutput(figures).data


class ResponseFiguresView(APIView):
    """Requests, time to accept and to arrive (p50, p90), the shares within target,
    non-arrivals, exceptions, ratings and complaints per local day or month, for the district
    or one provider or service type. Supervisors and district administrators."""

    @extend_schema(parameters=[ResponseFiguresInput], responses=ResponseFiguresOutput)
    def get(self, request: Request) -> Response:
        user = signed_in(request)
        require_role(user, SUPERVISION_ROLES, _("see the district's response figures"))
        return Response(response_figures_for(user, request.query_params))


class QualityInput(serializers.Serializer):
    month = serializers.DateField(
        required=False,
        input_formats=["%Y-%m"],
        help_text="YYYY-MM, a local month, at the latest this one; default: this month",
    )

    def validate_month(self, value: date) -> date:
        if value > local_today():
            raise serializers.ValidationError(_("must not be after this month"))
        if value < EARLIEST_DAY:
            raise serializers.ValidationError(
                _("must be on or after %(day)s") % {"day": EARLIEST_DAY}
            )
        return value


class ProviderQualityOutput(serializers.Serializer):
    provider = serializers.IntegerField(source="provider_id")
    name = serializers.CharField()
    status = serializers.CharField()
    visits = serializers.IntegerField(help_text="Verified visits checked in that month")
    punctual = serializers.IntegerField(help_text="Of them, on site by the arrival target")
    punctuality = serializers.FloatField(allow_null=True)
    rating_mean = serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True)
    ratings = serializers.IntegerField()
    upheld_complaints = serializers.IntegerField(help_text="Upheld that month")
    credit = serializers.DecimalField(
        max_digits=6, decimal_places=1, help_text="No-shows and praise that month"
    )
    score = serializers.DecimalField(
        max_digits=4, decimal_places=1, allow_null=True, help_text="0 to 100; null: no visits"
    )
    below = serializers.BooleanField(help_text="Below the threshold")


class QualityOutput(serializers.Serializer):
    district = serializers.IntegerField(source="district_id")
    month = serializers.DateField(format="%Y-%m")
    threshold = serializers.DecimalField(max_digits=4, decimal_places=1)
    providers = ProviderQualityOutput(many=True, help_text="Lowest score first, unscored last")
    below = serializers.ListField(
        child=serializers.IntegerField(),
        source="below_ids",
        help_text="The providers below the threshold",
    )


def provider_quality_for(user: User, query: dict) -> dict:
    """The API's answer for `user` (the view's, and the console's pages')."""
    params = QualityInput(data=query)
    params.is_valid(raise_exception=True)
    month = params.validated_data.get("month") or local_today()
    return QualityOutput(provider_quality(district_id=user.staff_district_id, month=month)).data


class ProviderQualityView(APIView):
    """Each provider's quality score for a local month (the formula: docs/district.md), and
    those below the threshold. Supervisors and district administrators."""

    @extend_schema(parameters=[QualityInput], responses=QualityOutput)
    def get(self, request: Request) -> Response:
        user = signed_in(request)
        require_role(user, SUPERVISION_ROLES, _("see the providers' quality"))
        return Response(provider_quality_for(user, request.query_params))
