from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.core.geo import PointOutputField, PositionSerializer
from dispatch.alert_rules import ALERT_RESOLUTIONS
from dispatch.client_clock import HEADER as CLIENT_SENT_AT
from dispatch.client_clock import client_at_refusal
from dispatch.models import (
    GEOFENCE_EXCEPTION_REASONS,
    OUTCOMES_BY_EVENT,
    VISIT_EXCEPTION_RESOLUTIONS,
    ComplaintReason,
    Outcome,
    Priority,
    WelfareOutcome,
)


class RequestCreateInput(serializers.Serializer):
    elder = serializers.IntegerField(help_text="Elder id")
    service_type = serializers.SlugField(help_text="Service code, e.g. meal, bathing, emergency")
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    window_start = serializers.DateTimeField(
        required=False,
        help_text="UTC ISO 8601; omit for 'now'. A day ago to a year ahead (longer: a care plan)",
    )
    window_end = serializers.DateTimeField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def validate_window_start(self, value: datetime) -> datetime:
        return _within_a_year(value)

    def validate_window_end(self, value: datetime) -> datetime:
        return _within_a_year(value)


# One request is one visit: a time outside this is a typing mistake (recurring care is a plan).
REQUEST_WINDOW_PAST = timedelta(days=1)
REQUEST_WINDOW_AHEAD = timedelta(days=366)


def _within_a_year(value: datetime) -> datetime:
    now = timezone.now()
    if not now - REQUEST_WINDOW_PAST <= value <= now + REQUEST_WINDOW_AHEAD:
        raise serializers.ValidationError(_("from a day ago to a year ahead"))
    return value


class ElderBrief(serializers.Serializer):
    """The elder on a work order: `id` always, the rest as `dispatch.selectors.ELDER_ON_ORDER`
    says for the caller (a provider admin: name, gender and address)."""

    id = serializers.IntegerField()
    full_name = serializers.CharField(required=False)
    gender = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    address = serializers.CharField(required=False)
    location = PointOutputField(required=False, help_text="Home, GeoJSON Point, WGS-84")


class WorkerBrief(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()


class RequestOutput(serializers.Serializer):
    """A work order. What it shows of the elder, notes included, is the list `elder_shown`
    that `dispatch.selectors.requests_visible_to` puts on every row."""

    id = serializers.IntegerField()
    reference = serializers.CharField()
    state = serializers.CharField()
    channel = serializers.CharField()
    priority = serializers.CharField()
    service_type = serializers.CharField(source="service_type.code")
    elder = serializers.SerializerMethodField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    match_at = serializers.DateTimeField()
    notes = serializers.SerializerMethodField()
    assigned_worker = WorkerBrief(allow_null=True)
    assigned_provider = serializers.IntegerField(source="assigned_provider_id", allow_null=True)
    possible_duplicate_of = serializers.IntegerField(
        source="possible_duplicate_of_id",
        allow_null=True,
        help_text="An open request of the same service for the same elder, if there was one",
    )
    outcome = serializers.CharField(help_text="How it ended (dispatch.models.Outcome)")
    outcome_note = serializers.CharField()
    responsible = serializers.CharField(
        source="responsible.username",
        allow_null=True,
        default=None,
        help_text="Who ended it and answers for the outcome; every emergency has one",
    )
    accept_due_at = serializers.DateTimeField(help_text="SLA: accepted by")
    arrive_due_at = serializers.DateTimeField(help_text="SLA: on site by")
    accept_missed_at = serializers.DateTimeField(help_text="When the accept target was missed")
    arrive_missed_at = serializers.DateTimeField(help_text="When the arrival target was missed")
    accepted_at = serializers.DateTimeField()
    arrived_at = serializers.DateTimeField()
    offer_rounds = serializers.IntegerField(help_text="Rounds of offers since matching began")
    created_at = serializers.DateTimeField()

    @extend_schema_field(ElderBrief)
    def get_elder(self, obj):
        shown = ElderBrief(obj.elder).data
        return {name: value for name, value in shown.items() if name in obj.elder_shown}

    def get_notes(self, obj) -> str:
        return obj.notes if "notes" in obj.elder_shown else ""


class OfferOutput(serializers.Serializer):
    """What a worker sees before accepting: no name, no address."""

    id = serializers.IntegerField()
    state = serializers.CharField()
    request = serializers.IntegerField(source="request_id")
    service_type = serializers.CharField(source="request.service_type.code")
    priority = serializers.CharField(source="request.priority")
    window_start = serializers.DateTimeField(source="request.window_start")
    window_end = serializers.DateTimeField(source="request.window_end")
    distance_m = serializers.FloatField()
    sent_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    opened_at = serializers.DateTimeField()


class ExplainOutput(serializers.Serializer):
    request = serializers.IntegerField()
    weights = serializers.DictField(child=serializers.FloatField())
    candidates = serializers.ListField(child=serializers.DictField())


class FeedbackInput(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class FeedbackOutput(serializers.Serializer):
    id = serializers.IntegerField()
    request = serializers.IntegerField(source="request_id")
    rating = serializers.IntegerField()
    comment = serializers.CharField()
    at = serializers.DateTimeField()
    complaint = serializers.SerializerMethodField()

    def get_complaint(self, obj) -> int | None:
        complaint = getattr(obj, "complaint", None)
        return complaint.pk if complaint else None


class ComplaintInput(serializers.Serializer):
    """A complaint about a visit under way or past (`dispatch.follow_up.complaint_open`); a low
    rating opens its own (FeedbackInput)."""

    reason = serializers.ChoiceField(
        choices=[(c.value, c.label) for c in ComplaintReason if c != ComplaintReason.LOW_RATING]
    )
    text = serializers.CharField(max_length=2000)


class ComplaintOutput(serializers.Serializer):
    id = serializers.IntegerField()
    request = serializers.IntegerField(source="request_id")
    reason = serializers.CharField(help_text="dispatch.models.ComplaintReason")
    text = serializers.CharField()
    state = serializers.CharField()
    decision_note = serializers.CharField()
    opened_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField()


class ComplaintDecisionInput(serializers.Serializer):
    uphold = serializers.BooleanField()
    note = serializers.CharField(max_length=300)


class AlertOutput(serializers.Serializer):
    id = serializers.IntegerField()
    request = serializers.IntegerField(source="request_id")
    visit = serializers.IntegerField(
        source="visit_id", allow_null=True, help_text="The visit it is about, if any"
    )
    kind = serializers.CharField(help_text="The reason code")
    episode = serializers.IntegerField(
        help_text="1 for the first alert of its kind on this request and visit; a later one "
        "comes only as its predecessor's resolution allows"
    )
    raised_at = serializers.DateTimeField()
    resent = serializers.IntegerField()
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", allow_null=True, default=None
    )
    acknowledged_at = serializers.DateTimeField()
    resolution = serializers.CharField()
    resolution_note = serializers.CharField()
    resolved_by = serializers.CharField(
        source="resolved_by.username", allow_null=True, default=None
    )
    resolved_at = serializers.DateTimeField()
    resolutions = serializers.SerializerMethodField(
        help_text="The resolution codes this kind of alert takes"
    )

    def get_resolutions(self, obj) -> list[str]:
        return sorted(ALERT_RESOLUTIONS[obj.kind])


class AlertResolveInput(serializers.Serializer):
    resolution = serializers.ChoiceField(
        choices=sorted(set().union(*ALERT_RESOLUTIONS.values())),
        help_text="One of the alert's `resolutions`",
    )
    note = serializers.CharField(max_length=300, required=False, default="")


class OverrideInput(serializers.Serializer):
    worker = serializers.IntegerField()
    reason = serializers.CharField(max_length=300)


def _outcomes(event: str, *, people_only: bool = True) -> list[str]:
    codes = OUTCOMES_BY_EVENT[event] - ({Outcome.NO_WORKER_IN_WINDOW} if people_only else set())
    return sorted(codes)


class FailInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=_outcomes("fail"))
    note = serializers.CharField(max_length=300, required=False, default="")


class CloseInput(serializers.Serializer):
    """An emergency closes only so: the operator who records the outcome answers for it."""

    outcome = serializers.ChoiceField(choices=_outcomes("close"), required=False, default="")
    note = serializers.CharField(max_length=300, required=False, default="")


@extend_schema_field(OpenApiTypes.INT)
class Seconds(serializers.Field):
    """A duration as whole seconds (null stays null)."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value) -> int:
        return int(value.total_seconds())


class ServiceTypeOutput(serializers.Serializer):
    """The catalogue: what each service needs, its SLA targets and its escalation ladder."""

    code = serializers.CharField()
    name = serializers.CharField()
    name_zh = serializers.CharField()
    default_priority = serializers.CharField()
    dispatch_mode = serializers.CharField()
    required_certificates = serializers.ListField(child=serializers.CharField())
    lead_time_s = Seconds(source="lead_time")
    default_duration_s = Seconds(source="default_duration")
    accept_within_s = Seconds(source="accept_within")
    arrive_within_s = Seconds(
        source="arrive_within",
        allow_null=True,
        help_text="Null: on site within the requested window",
    )
    offer_fanout = serializers.IntegerField()
    offer_timeout_s = Seconds(source="offer_timeout")
    offer_rounds = serializers.IntegerField()
    alert_ack_within_s = Seconds(source="alert_ack_within")
    notify_contacts = serializers.BooleanField()


class AssignWorkerInput(serializers.Serializer):
    worker = serializers.IntegerField(help_text="One of your organisation's workers")


class DeclineInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class CancelInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200)
    outcome = serializers.ChoiceField(
        choices=_outcomes("cancel"),
        required=False,
        default="",
        help_text="Required to cancel an emergency",
    )


class VisitPositionInput(PositionSerializer):
    """Where the worker is at check-in or check-out, and the phone's clock then (`client_at`):
    an offline visit is sent later, with the time it was made. The server's time stays the
    record. The phone's clock when it sent the attempt comes in the `X-Client-Sent-At` header,
    read from the request in the context (`dispatch.client_clock`: the offline gap and the
    clock's skew, and what is refused); `validated_data["client_sent_at"]` is None without it."""

    client_at = serializers.DateTimeField(
        required=False,
        help_text="ISO 8601, the phone's time of the check-in or check-out. With the header "
        "X-Client-Sent-At (the phone's time when it sent this): not after it; without: not "
        "later than the server's time plus ANXIN_CLIENT_TIME_AHEAD_S",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        sent_at = self._sent_at()
        attrs["client_sent_at"] = sent_at
        client_at = attrs.get("client_at")
        if client_at is not None:
            refusal = client_at_refusal(client_at, sent_at, timezone.now())
            if refusal:
                raise serializers.ValidationError({"client_at": [refusal]})
        return attrs

    def _sent_at(self) -> datetime | None:
        request = self.context.get("request")
        raw = request.headers.get(CLIENT_SENT_AT, "").strip() if request is not None else ""
        if not raw:
            return None
        try:
            return serializers.DateTimeField().to_internal_value(raw)
        except serializers.ValidationError as bad:
            raise serializers.ValidationError({CLIENT_SENT_AT: bad.detail}) from bad


class CheckInInput(VisitPositionInput):
    exception_reason = serializers.ChoiceField(
        choices=GEOFENCE_EXCEPTION_REASONS,
        required=False,
        help_text="Outside the geofence: record the check-in as an exception for a supervisor",
    )


class CheckOutInput(VisitPositionInput):
    """Where the worker checks out is required, as at check-in; it is recorded, not refused."""

    welfare_outcome = serializers.ChoiceField(choices=WelfareOutcome.values, required=False)


class VisitExceptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    request = serializers.IntegerField(source="request_id")
    worker = serializers.IntegerField(source="worker_id")
    checked_in_at = serializers.DateTimeField()
    check_in_distance_m = serializers.FloatField()
    exception_reason = serializers.CharField()
    exception_state = serializers.CharField()
    exception_resolution = serializers.CharField()
    exception_note = serializers.CharField()
    exception_decided_by = serializers.CharField(
        source="exception_decided_by.username", allow_null=True, default=None
    )
    subsidy_share = serializers.DecimalField(max_digits=3, decimal_places=2)
    verified = serializers.BooleanField(
        help_text="Checked out with no exception or an approved one: what credit, subsidy "
        "and settlement count"
    )


class ExceptionDecisionInput(serializers.Serializer):
    approve = serializers.BooleanField()
    resolution = serializers.ChoiceField(
        choices=sorted(set().union(*VISIT_EXCEPTION_RESOLUTIONS.values())),
        help_text="Approving: position_error_confirmed, address_corrected, met_elsewhere, "
        "offline_visit_confirmed, other. Rejecting: visit_not_verified, wrong_elder, other.",
    )
    note = serializers.CharField(max_length=300, required=False, default="")


class CheckInOutput(serializers.Serializer):
    visit = serializers.IntegerField(source="visit.pk")
    checked_in_at = serializers.DateTimeField(source="visit.checked_in_at")
    distance_m = serializers.FloatField()


class CheckOutOutput(serializers.Serializer):
    visit = serializers.IntegerField(source="pk")
    checked_in_at = serializers.DateTimeField()
    checked_out_at = serializers.DateTimeField()
    price = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)
    price_unit = serializers.CharField()
    subsidy_share = serializers.DecimalField(max_digits=3, decimal_places=2)
    welfare_outcome = serializers.CharField()
    check_out_distance_m = serializers.FloatField()
    exception_state = serializers.CharField()
    verified = serializers.BooleanField(
        help_text="False while a geofence exception is pending, and for good once it is rejected"
    )
