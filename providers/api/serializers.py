import json

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField

from backend.core.geo import (
    GEOJSON_POINT_SCHEMA,
    GeoFeatureSerializer,
    GeoJSONPointInput,
    PointOutputField,
    point_wgs84,
    polygon_from_geojson,
)
from providers.models import (
    Certificate,
    CertificateKind,
    CreditEvent,
    PriceUnit,
    Provider,
    ProviderKind,
    ProviderService,
    Sanction,
    SanctionKind,
    ShiftState,
)


class ProviderInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=ProviderKind.choices)
    credit_code = serializers.CharField(max_length=30, required=False, allow_blank=True)
    contact_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    contact_phone = PhoneNumberField(required=False, allow_blank=True)
    base_location = GeoJSONPointInput(required=False, help_text="GeoJSON Point, WGS-84")
    service_area = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="GeoJSON Polygon or MultiPolygon, WGS-84; null to use the radius",
    )
    service_radius_m = serializers.IntegerField(required=False, min_value=100, max_value=50_000)
    insurance_policy = serializers.CharField(max_length=100, required=False, allow_blank=True)
    insurance_expires_on = serializers.DateField(required=False, allow_null=True)
    reason = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="Why: kept with a change that waits for a district administrator",
    )

    def validate_base_location(self, value):
        return point_wgs84(*value)

    def validate_service_area(self, value):
        from django.contrib.gis.geos import MultiPolygon, Polygon

        if value is None:
            return None
        area = polygon_from_geojson(json.dumps(value))
        if area is None:
            raise serializers.ValidationError(_("must be a valid GeoJSON Polygon or MultiPolygon"))
        return MultiPolygon(area, srid=4326) if isinstance(area, Polygon) else area


class ProviderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    credit_code = serializers.CharField(allow_null=True)
    contact_name = serializers.CharField()
    contact_phone = serializers.CharField()
    status = serializers.CharField()
    status_reason = serializers.CharField()
    suspended_until = serializers.DateField()
    base_location = PointOutputField(allow_null=True)
    service_area = serializers.SerializerMethodField()
    service_radius_m = serializers.IntegerField()
    insurance_policy = serializers.CharField()
    insurance_expires_on = serializers.DateField()
    credit_score = serializers.DecimalField(max_digits=5, decimal_places=1)

    def get_service_area(self, obj) -> dict | None:
        return json.loads(obj.service_area.geojson) if obj.service_area else None


GEOJSON_MULTIPOLYGON_SCHEMA = {
    "type": "object",
    "description": "GeoJSON MultiPolygon: rings of [longitude, latitude]",
    "properties": {
        "type": {"type": "string", "enum": ["MultiPolygon"]},
        "coordinates": {
            "type": "array",
            "items": {
                "type": "array",
                "items": {
                    "type": "array",
                    "items": GEOJSON_POINT_SCHEMA["properties"]["coordinates"],
                },
            },
        },
    },
    "required": ["type", "coordinates"],
}


@extend_schema_field(
    {
        "oneOf": [GEOJSON_MULTIPOLYGON_SCHEMA, GEOJSON_POINT_SCHEMA],
        "nullable": True,
        "description": "The service area, or the base when the provider serves a radius",
    }
)
class ServedGeometryField(GeometryField):
    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, precision=7, **kwargs)

    def to_representation(self, provider):
        geometry = provider.service_area or provider.base_location
        return None if geometry is None else super().to_representation(geometry)


class ProviderFeature(GeoFeatureSerializer):
    """A provider on the map: its service area, or its base and `service_radius_m`."""

    geometry = ServedGeometryField()
    service_radius_m = serializers.SerializerMethodField()

    class Meta:
        model = Provider
        geo_field = "geometry"
        fields = ["id", "name", "status", "kind", "service_radius_m"]

    def get_service_radius_m(self, obj) -> int | None:
        return None if obj.service_area else obj.service_radius_m


class ServiceSerializer(serializers.ModelSerializer):
    unit = serializers.ChoiceField(choices=PriceUnit.choices)
    reason = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="Why: kept with a change that waits for a district administrator",
    )

    class Meta:
        model = ProviderService
        fields = ["id", "service_code", "price", "unit", "subsidised", "reason"]


class ProviderChangeOutput(serializers.Serializer):
    """A change to where a provider serves, its credit code, or a service's price, unit or
    subsidy flag, and what became of it."""

    id = serializers.IntegerField()
    provider = serializers.IntegerField(source="provider_id")
    state = serializers.CharField(help_text="pending, approved, rejected or superseded")
    changes = serializers.DictField(
        child=serializers.DictField(),
        help_text='Each field (`service:<code>` for a service) as {"from": ..., "to": ...}; '
        "geometries as GeoJSON, a service as {price, unit, subsidised} or null",
    )
    reason = serializers.CharField()
    requested_by = serializers.CharField(source="requested_by.username")
    requested_at = serializers.DateTimeField()
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    decided_at = serializers.DateTimeField()
    decision_note = serializers.CharField()


class ChangeDecisionInput(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=300, help_text="Why")


class WorkerInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    # Its rules are the password validators', checked by worker_create (400 naming password).
    password = serializers.CharField(max_length=128, write_only=True)
    full_name = serializers.CharField(max_length=100)
    phone = PhoneNumberField()
    alt_phone = PhoneNumberField(required=False, allow_blank=True, default="")
    gender = serializers.ChoiceField(choices=["female", "male"], required=False, default="")
    languages = serializers.ListField(child=serializers.CharField(max_length=30), default=list)
    skills = serializers.ListField(child=serializers.SlugField(max_length=30), default=list)
    capacity = serializers.IntegerField(min_value=1, max_value=10, default=1)


class WorkerUpdate(serializers.Serializer):
    full_name = serializers.CharField(max_length=100, required=False)
    phone = PhoneNumberField(required=False)
    languages = serializers.ListField(child=serializers.CharField(max_length=30), required=False)
    skills = serializers.ListField(child=serializers.SlugField(max_length=30), required=False)
    capacity = serializers.IntegerField(min_value=1, max_value=10, required=False)


class WorkerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    provider = serializers.IntegerField(source="provider_id")
    full_name = serializers.CharField()
    phone = serializers.CharField()
    gender = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    skills = serializers.ListField(child=serializers.CharField())
    shift_state = serializers.CharField()
    capacity = serializers.IntegerField()
    active_jobs = serializers.IntegerField()
    credit_score = serializers.DecimalField(max_digits=5, decimal_places=1)


class CertificateSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=CertificateKind.choices)

    class Meta:
        model = Certificate
        fields = ["id", "kind", "level", "number", "expires_on"]


class StatusChangeInput(serializers.Serializer):
    event = serializers.ChoiceField(choices=["approve", "suspend", "reinstate", "blacklist"])
    reason = serializers.CharField(max_length=300)
    suspended_until = serializers.DateField(required=False, allow_null=True)


class SanctionInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SanctionKind.choices)
    reason = serializers.CharField(max_length=300)
    until = serializers.DateField(required=False, allow_null=True)


class SanctionOutput(serializers.ModelSerializer):
    class Meta:
        model = Sanction
        fields = ["id", "kind", "reason", "decided_at", "until", "lifted_at"]


class AppealInput(serializers.Serializer):
    grounds = serializers.CharField(max_length=2000)


class AppealDecisionInput(serializers.Serializer):
    grant = serializers.BooleanField()
    note = serializers.CharField(max_length=300)


class AppealOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sanction = serializers.IntegerField(source="sanction_id")
    grounds = serializers.CharField()
    state = serializers.CharField()
    decision_note = serializers.CharField()
    filed_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField()


class CreditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditEvent
        fields = ["id", "kind", "delta", "worker", "reference", "note", "at"]


class ManualCreditInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["praise", "upheld_complaint"])
    reference = serializers.CharField(max_length=60)
    worker = serializers.IntegerField(required=False, allow_null=True)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ShiftInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=ShiftState.choices)


class LocationOutput(serializers.Serializer):
    stored = serializers.BooleanField(
        help_text="False when a position was stored less than the minimum interval ago"
    )
