from django.utils.translation import gettext as _
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from backend.accounts.models import User
from backend.core.geo import (
    CRS_CHOICES,
    WGS84,
    GeoFeatureSerializer,
    GeoJSONPointInput,
    PointOutputField,
    point_wgs84,
)
from elders.assessment import BARTHEL_ITEMS
from elders.care_rules import CareRuleInvalid, care_rule_parse, care_rule_start_check
from elders.identity import age_today
from elders.models import (
    SMS_KINDS_CHOSEN,
    AlarmDevice,
    CareNeed,
    Category,
    Consent,
    DeviceKind,
    Elder,
    ElderStatus,
    EmergencyContact,
    Gender,
    LivingArrangement,
    division_code_validator,
)
from elders.selectors import ElderView, elder_view_for


class ElderInput(serializers.Serializer):
    full_name = serializers.CharField(max_length=100)
    gender = serializers.ChoiceField(choices=Gender.choices)
    birth_date = serializers.DateField(required=False, allow_null=True)
    phone = PhoneNumberField(required=False, allow_blank=True, default="")
    landline = PhoneNumberField(required=False, allow_blank=True, default="")
    address = serializers.CharField(max_length=300)
    location = GeoJSONPointInput(help_text="Home, GeoJSON Point, in the system `crs` names")
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default=WGS84)
    division_code = serializers.CharField(
        required=False, allow_blank=True, default="", validators=[division_code_validator]
    )
    living_arrangement = serializers.ChoiceField(
        choices=LivingArrangement.choices, required=False, allow_blank=True, default=""
    )
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=Category.choices), required=False, default=list
    )
    status = serializers.ChoiceField(choices=ElderStatus.choices, default=ElderStatus.ACTIVE)
    status_since = serializers.DateField(required=False, allow_null=True)
    id_number = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="18-character resident ID; stored encrypted",
    )

    def validate(self, attrs):
        if "location" in attrs:
            lng, lat = attrs["location"]
            attrs["location"] = point_wgs84(lng, lat, attrs.pop("crs", WGS84))
        else:
            attrs.pop("crs", None)
        attrs["categories"] = sorted(set(attrs.get("categories", [])))
        return attrs


class ContactOutput(serializers.Serializer):
    id = serializers.IntegerField()
    priority = serializers.IntegerField()
    name = serializers.CharField()
    relationship = serializers.CharField()
    phone = serializers.CharField()
    alt_phone = serializers.CharField()
    wants_sms = serializers.BooleanField()
    sms_kinds = serializers.ListField(
        child=serializers.CharField(),
        help_text="Texts taken besides emergencies (elders.models.SmsKind), with wants_sms",
    )
    has_family_account = serializers.SerializerMethodField()

    def get_has_family_account(self, obj) -> bool:
        return obj.user_id is not None


class ContactMessagesInput(serializers.Serializer):
    """Which texts a contact gets (`elders.services.contact_messages_set`): none at all
    (`wants_sms` false), or emergencies and the kinds named in `sms_kinds`."""

    wants_sms = serializers.BooleanField()
    sms_kinds = serializers.MultipleChoiceField(
        choices=[(kind.value, kind.label) for kind in SMS_KINDS_CHOSEN], allow_empty=True
    )

    def validate_sms_kinds(self, value: set[str]) -> list[str]:
        return sorted(value)  # a list in one order: the same form posted twice is the same


class ContactInput(serializers.ModelSerializer):
    phone = PhoneNumberField()
    alt_phone = PhoneNumberField(required=False, allow_blank=True, default="")

    class Meta:
        model = EmergencyContact
        fields = ["priority", "name", "relationship", "phone", "alt_phone", "wants_sms"]


class CareNeedSerializer(serializers.ModelSerializer):
    class Meta:
        model = CareNeed
        fields = [
            "id",
            "service_code",
            "rrule",
            "starts_on",
            "ends_on",
            "duration_minutes",
            "notes",
            "active",
        ]

    def validate_rrule(self, value):
        """Within the bounds of elders/care_rules.py (which the model's validator checks for
        the admin too); kept upper case, without an RRULE: prefix."""
        try:
            return care_rule_parse(value).text
        except CareRuleInvalid as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_starts_on(self, value):
        try:
            care_rule_start_check(value)
        except CareRuleInvalid as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def validate(self, attrs):
        if attrs.get("ends_on") and attrs["ends_on"] < attrs["starts_on"]:
            raise serializers.ValidationError({"ends_on": [_("must not be before starts_on")]})
        return attrs


class CarePlanEntryOutput(serializers.Serializer):
    """A care-plan entry as the file shows it: the schedule without the notes (those are read,
    logged, from `.../care-needs/`)."""

    id = serializers.IntegerField()
    service_code = serializers.CharField()
    rrule = serializers.CharField()
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(allow_null=True)
    duration_minutes = serializers.IntegerField()
    active = serializers.BooleanField()


class ElderBriefOutput(serializers.Serializer):
    """For provider admins: who their staff served, no more."""

    id = serializers.IntegerField()
    full_name = serializers.CharField()
    gender = serializers.CharField()
    address = serializers.CharField()


class ElderForWorkerOutput(ElderBriefOutput):
    """For a worker holding an access grant: what the job needs."""

    phone = serializers.CharField()
    landline = serializers.CharField()
    location = PointOutputField(help_text="Home, GeoJSON Point, WGS-84")
    care_needs = CarePlanEntryOutput(many=True)


class ElderOutput(ElderForWorkerOutput):
    """The file, for district staff and the elder's own family: whether an ID number is on
    file (never a digit of it), the age (not the birth date: `ElderWithBirthDateOutput`)."""

    age = serializers.SerializerMethodField()
    division_code = serializers.CharField()
    division_levels = serializers.SerializerMethodField()
    living_arrangement = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    status_since = serializers.DateField()
    has_id_number = serializers.BooleanField(
        help_text="Whether an ID number is on file. Supervisors reveal it (logged); staff "
        "confirm a caller's last digits with POST .../id-number/check/"
    )
    care_level = serializers.IntegerField(allow_null=True)
    care_level_label = serializers.CharField(source="get_care_level_display", allow_null=True)
    next_assessment_due = serializers.DateField()
    contacts = ContactOutput(many=True)

    def get_age(self, obj) -> int | None:
        return age_today(obj.birth_date)

    def get_division_levels(self, obj) -> dict[str, str]:
        """Province, city, county, township and village codes, each usable as `division`."""
        code = obj.division_code
        if not code:
            return {}
        return {name: code[:n] for name, n in DIVISION_LEVELS}


DIVISION_LEVELS = [("province", 2), ("city", 4), ("county", 6), ("township", 9), ("village", 12)]


class ElderWithBirthDateOutput(ElderOutput):
    """The file for the roles that may reveal the ID number (`ID_NUMBER_ROLES`). Other roles
    get fewer fields (docs/elders.md, "Who sees what")."""

    birth_date = serializers.DateField(
        required=False, help_text="Supervisors and district administrators only"
    )


FILE_OUTPUT: dict[ElderView, type[ElderBriefOutput]] = {
    ElderView.FILE_WITH_BIRTH_DATE: ElderWithBirthDateOutput,
    ElderView.FILE: ElderOutput,
    ElderView.FOR_WORKER: ElderForWorkerOutput,
    ElderView.BRIEF: ElderBriefOutput,
}


def elder_file_output(user: User) -> type[ElderBriefOutput]:
    """The serializer of an elder's file for this user's role (`elder_view_for`): the API's
    file and the operator console's show the same fields."""
    return FILE_OUTPUT[elder_view_for(user)]


class ElderListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    gender = serializers.CharField()
    age = serializers.SerializerMethodField()
    address = serializers.CharField()
    division_code = serializers.CharField()
    care_level = serializers.IntegerField(allow_null=True)
    living_arrangement = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField())
    location = PointOutputField(help_text="Home, GeoJSON Point, WGS-84")

    def get_age(self, obj) -> int | None:
        return age_today(obj.birth_date)


class ElderFeature(GeoFeatureSerializer):
    """An elder's home on the district's map: a GeoJSON Feature, WGS-84."""

    location = PointOutputField()
    care_level = serializers.IntegerField(allow_null=True)
    living_arrangement = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Elder
        geo_field = "location"
        fields = ["id", "full_name", "care_level", "living_arrangement", "categories"]


class LookupOutput(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    gender = serializers.CharField()
    age = serializers.IntegerField(allow_null=True)
    address = serializers.CharField()
    status = serializers.CharField()
    matched_on = serializers.ChoiceField(choices=["mobile", "landline", "contact"])


class AssessmentInput(serializers.Serializer):
    assessed_on = serializers.DateField()
    assessor_name = serializers.CharField(max_length=100)
    self_care = serializers.IntegerField(min_value=0)
    basic_motor = serializers.IntegerField(min_value=0)
    mental_state = serializers.IntegerField(min_value=0)
    perception_social = serializers.IntegerField(min_value=0)
    unconscious = serializers.BooleanField(default=False)
    barthel_items = serializers.DictField(
        child=serializers.IntegerField(),
        required=False,
        allow_null=True,
        help_text="The ten Barthel items: " + ", ".join(BARTHEL_ITEMS),
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class AssessmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    assessed_on = serializers.DateField()
    assessor_name = serializers.CharField()
    self_care = serializers.IntegerField()
    basic_motor = serializers.IntegerField()
    mental_state = serializers.IntegerField()
    perception_social = serializers.IntegerField()
    unconscious = serializers.BooleanField()
    total = serializers.IntegerField()
    level = serializers.IntegerField()
    level_label = serializers.CharField(source="get_level_display")
    barthel_items = serializers.DictField(child=serializers.IntegerField(), allow_null=True)
    barthel_total = serializers.IntegerField(allow_null=True)
    next_due = serializers.DateField()
    notes = serializers.CharField()


class HealthSerializer(serializers.Serializer):
    conditions = serializers.CharField(allow_blank=True, default="")
    allergies = serializers.CharField(allow_blank=True, default="")
    medication = serializers.CharField(allow_blank=True, default="")
    mobility_aids = serializers.CharField(allow_blank=True, default="")
    diet = serializers.CharField(allow_blank=True, default="")


class PurposeInput(serializers.Serializer):
    purpose = serializers.CharField(max_length=200, help_text="Why you need to see it (logged)")


class DeviceSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=DeviceKind.choices)

    class Meta:
        model = AlarmDevice
        fields = [
            "id",
            "serial",
            "kind",
            "heartbeat_interval_s",
            "last_heartbeat_at",
            "battery_pct",
            "active",
        ]
        read_only_fields = ["last_heartbeat_at", "battery_pct"]


class DeviceWithSecretOutput(DeviceSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The device's signing secret, shown this once: it cannot be read again, only "
        "rotated (docs/alarms.md)",
    )

    class Meta(DeviceSerializer.Meta):
        fields = [*DeviceSerializer.Meta.fields, "secret"]


class ConsentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Consent
        fields = ["id", "purpose", "given_by", "given_on", "withdrawn_on"]


class AccessLogOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    user = serializers.CharField(source="user.username")
    field = serializers.CharField()
    purpose = serializers.CharField()
