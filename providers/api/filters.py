import django_filters
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.measure import D

from backend.core.filters import NearFilter, PointFilter
from providers.models import (
    Appeal,
    AppealState,
    ChangeState,
    Provider,
    ProviderChange,
    ProviderKind,
    ProviderStatus,
)
from providers.selectors import providers_serving


class ProviderFilter(django_filters.FilterSet):
    serving = PointFilter(
        method="filter_serving",
        help_text="lng,lat (WGS-84): active providers whose area covers the point",
    )
    near = NearFilter(
        method="filter_near",
        help_text="lng,lat,radius_m (WGS-84): based within the radius, nearest first; "
        "radius at most 50000",
    )
    service = django_filters.CharFilter(
        field_name="services__service_code", help_text="A service code offered, e.g. meal"
    )
    status = django_filters.ChoiceFilter(choices=ProviderStatus.choices)
    kind = django_filters.ChoiceFilter(choices=ProviderKind.choices)

    class Meta:
        model = Provider
        fields = ["serving", "near", "service", "status", "kind"]

    def filter_serving(self, qs, name, point):
        return qs.filter(pk__in=providers_serving(point=point).values("pk"))

    def filter_near(self, qs, name, value):
        point, radius_m = value
        return (
            qs.filter(base_location__dwithin=(point, D(m=radius_m)))
            .annotate(distance=Distance("base_location", point))
            .order_by("distance", "pk")
        )


class AppealFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=AppealState.choices)

    class Meta:
        model = Appeal
        fields = ["state"]


class ProviderChangeFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=ChangeState.choices, help_text="`pending` is the district's queue"
    )
    provider = django_filters.NumberFilter(field_name="provider_id", help_text="A provider's id")

    class Meta:
        model = ProviderChange
        fields = ["state", "provider"]
