from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import serializers

from dispatch.models import ServiceType

MAX_CELL_M = 50_000


class ServiceField(serializers.SlugRelatedField):
    """A service type by its code (`/api/v1/service-types/`)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=ServiceType.objects.all(), **kwargs)


class CoverageInput(serializers.Serializer):
    service = ServiceField(required=False, help_text="One service type's code; default: all")


class GapsInput(serializers.Serializer):
    service = ServiceField(help_text="The service type's code")


class GridInput(serializers.Serializer):
    service = ServiceField(help_text="The service type's code")
    cell_m = serializers.IntegerField(
        required=False,
        max_value=MAX_CELL_M,
        help_text="The side of a cell in metres (about: the grid is in degrees); default "
        "ANXIN_COVERAGE_CELL_M, at least ANXIN_COVERAGE_MIN_CELL_M",
    )

    def validate_cell_m(self, value: int) -> int:
        least = settings.ANXIN["COVERAGE_MIN_CELL_M"]
        if value < least:
            raise serializers.ValidationError(
                _("at least %(metres)s metres: a smaller cell could point at one home")
                % {"metres": least}
            )
        return value


class ReachOutput(serializers.Serializer):
    speed_kmh = serializers.FloatField(source="reach.speed_kmh", help_text="The speed assumed")
    minutes = serializers.IntegerField(source="reach.minutes")
    reach_m = serializers.IntegerField(
        source="reach.metres", help_text="speed × minutes: how far from a provider's base"
    )
    basis = serializers.SerializerMethodField(help_text="The same, in words")

    def get_basis(self, obj) -> str:
        return _(
            "Elders whom no active provider offering the service can reach within %(minutes)s "
            "minutes at %(speed)s km/h (%(metres)s m) from its base, within its approved "
            "service area."
        ) % {
            "minutes": obj.reach.minutes,
            "speed": f"{obj.reach.speed_kmh:g}",
            "metres": obj.reach.metres,
        }


class DivisionGapsOutput(serializers.Serializer):
    division_code = serializers.CharField(help_text="12 digits; blank for files without one")
    elders = serializers.IntegerField(help_text="Active elders with this code")
    in_gap = serializers.IntegerField(help_text="Of them, those no provider reaches")


class ServiceGapsOutput(serializers.Serializer):
    service = serializers.CharField(source="service_code")
    elders = serializers.IntegerField()
    in_gap = serializers.IntegerField()
    divisions = DivisionGapsOutput(many=True)


class CoverageOutput(ReachOutput):
    district = serializers.IntegerField(source="district_id")
    computed_at = serializers.DateTimeField()
    elders = serializers.IntegerField(help_text="The district's active elders")
    services = ServiceGapsOutput(many=True)
