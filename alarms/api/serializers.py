from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from alarms.models import MessageKind, MessageResult
from backend.core.geo import GeoJSONPointInput


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
