import django_filters
from django.contrib.gis.measure import D
from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from backend.core.filters import NearFilter
from backend.core.geo import polygon_from_geojson
from elders.models import CareLevel, Category, Elder, ElderStatus, LivingArrangement
from elders.selectors import phone_to_e164


class ElderFilter(django_filters.FilterSet):
    division = django_filters.CharFilter(
        method="filter_division",
        help_text="Division code prefix: 2 digits province, 4 city, 6 county, 9 township, "
        "12 village",
    )
    # Its own schema: the model field is an array, and the parameter is not an array of them.
    category = extend_schema_field(
        {"type": "string", "enum": Category.values, "description": "Has every category given"}
    )(
        django_filters.MultipleChoiceFilter(
            field_name="categories", choices=Category.choices, method="filter_category"
        )
    )
    care_level = django_filters.MultipleChoiceFilter(choices=CareLevel.choices)
    living_arrangement = django_filters.MultipleChoiceFilter(choices=LivingArrangement.choices)
    status = django_filters.ChoiceFilter(choices=ElderStatus.choices)
    near = NearFilter(
        method="filter_near",
        help_text="lng,lat,radius_m (WGS-84), e.g. 125.32,43.88,2000; radius at most 50000",
    )
    within = django_filters.CharFilter(
        method="filter_within", help_text="A GeoJSON Polygon or MultiPolygon (WGS-84)"
    )
    q = django_filters.CharFilter(method="filter_q", help_text="Name fragment or phone number")

    class Meta:
        model = Elder
        fields = ["division", "category", "care_level", "living_arrangement", "status"]

    def filter_division(self, qs, name, value):
        if not value.isdigit() or len(value) not in (2, 4, 6, 9, 12):
            raise ValidationError({"division": [_("a prefix of 2, 4, 6, 9 or 12 digits")]})
        return qs.filter(division_code__startswith=value)

    def filter_category(self, qs, name, values):
        for value in values:
            qs = qs.filter(categories__contains=[value])
        return qs

    def filter_near(self, qs, name, value):
        point, radius_m = value
        return qs.filter(location__dwithin=(point, D(m=radius_m)))

    def filter_within(self, qs, name, value):
        area = polygon_from_geojson(value)
        if area is None:
            raise ValidationError(
                {"within": [_("must be a valid GeoJSON Polygon or MultiPolygon")]}
            )
        return qs.filter(location__intersects=area)

    def filter_q(self, qs, name, value):
        e164 = phone_to_e164(value) if any(c.isdigit() for c in value) else None
        condition = Q(full_name__icontains=value.strip())
        if e164:
            condition |= Q(phone=e164) | Q(landline=e164)
        return qs.filter(condition)
