from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from alarms.models import AlarmOutcome, AlarmState, MessageKind, MessageResult
from backend.core.geo import GeoJSONPointInput
from hotline.models import AlarmCallBackState, ElderLine


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with its UTC offset: a device's local time without one is ambiguous."""

    default_error_messages = {
        "naive": gettext_lazy("must include its UTC offset, e.g. 2026-01-05T08:30:00+08:00"),
    }

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


class MessageInput(serializers.Serializer):
    event_id = serializers.UUIDField(help_text="Chosen by the device; a repeat is answered again")
    kind = serializers.ChoiceField(choices=MessageKind.choices)
    at = AwareDateTimeField(help_text="When it happened, by the device's clock (ISO 8601)")
    location = GeoJSONPointInput(required=False, allow_null=True, help_text="GeoJSON Point, WGS-84")
    battery = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=100, help_text="Percent"
    )


class AcceptedOutput(serializers.Serializer):
    event_id = serializers.UUIDField()
    result = serializers.ChoiceField(choices=MessageResult.choices)
    alarm_id = serializers.IntegerField(allow_null=True)
    late = serializers.BooleanField()
    delay_s = serializers.IntegerField(help_text="Received minus `at`, seconds")
    received_at = serializers.DateTimeField()
    server_time = serializers.IntegerField(help_text="The platform's clock, Unix seconds")


class RefusalOutput(serializers.Serializer):
    error = serializers.DictField(help_text="code, message, fields")
    server_time = serializers.IntegerField(help_text="The platform's clock, Unix seconds")


class AlarmCallBackOutput(serializers.Serializer):
    """An operator's call-back of the alarm (hotline/alarm_call_back.py), compact."""

    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=AlarmCallBackState.choices)
    outcome = serializers.CharField(help_text="Set when ended: an AlarmCallBackOutcome code")
    operator = serializers.CharField(source="operator.username", help_text="Who calls back")
    line = serializers.ChoiceField(choices=ElderLine.choices, help_text="The elder's line dialled")
    started_at = serializers.DateTimeField(source="created_at")
    operator_answered_at = serializers.DateTimeField(allow_null=True)
    elder_answered_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)


class AlarmOutput(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=AlarmState.choices)
    kind = serializers.ChoiceField(choices=MessageKind.choices)
    elder = serializers.IntegerField(source="elder_id")
    elder_name = serializers.CharField(source="elder.full_name")
    device = serializers.CharField(source="device.serial", help_text="The device's serial")
    presses = serializers.IntegerField(help_text="Messages that joined the alarm, the first too")
    late = serializers.BooleanField()
    delay_s = serializers.IntegerField(help_text="Received minus when it happened, seconds")
    raised_at = serializers.DateTimeField(help_text="When it happened, by the device's clock")
    received_at = serializers.DateTimeField()
    age_s = serializers.SerializerMethodField(help_text="Seconds since it was received")
    shown_at = serializers.DateTimeField(
        allow_null=True, help_text="First seen by a staff member (a socket, the queue)"
    )
    last_press_at = serializers.DateTimeField()
    ack_due_at = serializers.DateTimeField(help_text="To be acknowledged by then")
    resent = serializers.IntegerField(help_text="Times re-sent while nobody acknowledged it")
    dispatch_due_at = serializers.DateTimeField(
        allow_null=True, help_text="The platform dispatches help then, unless acknowledged"
    )
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", allow_null=True, default=None
    )
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    request = serializers.IntegerField(
        source="request_id", allow_null=True, help_text="The emergency request dispatched"
    )
    request_reference = serializers.CharField(
        source="request.reference", allow_null=True, default=None
    )
    dispatched_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.CharField(help_text="Set when closed: an outcome code")
    outcome_note = serializers.CharField()
    closed_by = serializers.CharField(source="closed_by.username", allow_null=True, default=None)
    closed_at = serializers.DateTimeField(allow_null=True)
    call_backs = AlarmCallBackOutput(
        many=True, read_only=True, help_text="Operators' call-backs of it, the latest first"
    )

    def get_age_s(self, obj) -> int:
        return max(0, int((timezone.now() - obj.received_at).total_seconds()))


class AlarmCloseInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=AlarmOutcome.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
