from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hotline.models import CallBackState
from hotline.selectors import call_back_elder_cards, call_elder_cards


class ElderCard(serializers.Serializer):
    """An elder the caller's number matched, as staff see a caller."""

    id = serializers.IntegerField()
    full_name = serializers.CharField()
    district = serializers.IntegerField()
    gender = serializers.CharField()
    age = serializers.IntegerField(allow_null=True)
    address = serializers.CharField()
    status = serializers.CharField()
    matched_on = serializers.ChoiceField(choices=["mobile", "landline", "contact"])


class CallOutput(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    priority = serializers.CharField(help_text="routine or emergency (first in the list)")
    from_number = serializers.CharField(help_text="The caller's number, E.164")
    to_number = serializers.CharField(help_text="The hotline number dialled")
    elders = serializers.SerializerMethodField(help_text="Elders the caller's number matched")
    menu_path = serializers.CharField(help_text="Keys pressed in the menu, in order")
    arrived_at = serializers.DateTimeField()
    queued_at = serializers.DateTimeField(allow_null=True)
    taken_by = serializers.CharField(source="taken_by.username", allow_null=True, default=None)
    taken_at = serializers.DateTimeField(allow_null=True)
    request = serializers.IntegerField(source="request_id", allow_null=True)
    request_reference = serializers.CharField(
        source="request.reference", allow_null=True, default=None
    )
    outcome = serializers.CharField()

    @extend_schema_field(ElderCard(many=True))
    def get_elders(self, obj) -> Any:
        return ElderCard(call_elder_cards(obj), many=True).data


class CallBackOutput(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField(help_text="open, taken, closed, or cancelled")
    call = serializers.IntegerField(
        source="call_id", allow_null=True, help_text="The call; null for an SMS's task"
    )
    sms = serializers.IntegerField(
        source="sms_id", allow_null=True, help_text="The inbound SMS nothing took; null for a call"
    )
    sms_body = serializers.CharField(source="sms.body", default="", help_text="What it said")
    from_number = serializers.CharField(help_text="Whom to call back (the caller, the sender)")
    elders = serializers.SerializerMethodField()
    recording_sid = serializers.CharField(
        source="call.recording_sid", default="", help_text="Twilio's reference of the message"
    )
    recording_url = serializers.CharField(source="call.recording_url", default="")
    recording_duration_s = serializers.IntegerField(
        source="call.recording_duration_s", allow_null=True, default=None
    )
    created_at = serializers.DateTimeField()
    taken_by = serializers.CharField(source="taken_by.username", allow_null=True, default=None)
    taken_at = serializers.DateTimeField(allow_null=True)
    closed_by = serializers.CharField(source="closed_by.username", allow_null=True, default=None)
    closed_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()

    @extend_schema_field(ElderCard(many=True))
    def get_elders(self, obj) -> Any:
        return ElderCard(call_back_elder_cards(obj), many=True).data


class CallBackListQuery(serializers.Serializer):
    state = serializers.ChoiceField(choices=CallBackState.choices, required=False)


class CallBackCloseInput(serializers.Serializer):
    note = serializers.CharField(max_length=2000, help_text="What came of the call back")
