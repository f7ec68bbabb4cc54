"""Query parameters for django-filter FilterSets: places (`lng,lat` and `lng,lat,radius_m`,
WGS-84) and strict booleans. A value out of shape or range fails the filter's form, which
DjangoFilterBackend answers with a 400 naming the parameter."""

import django_filters
from django import forms
from django.contrib.gis.geos import Point
from django.utils.translation import gettext as _

MAX_RADIUS_M = 50_000


class LngLatField(forms.CharField):
    """`lng,lat` to a WGS-84 Point."""

    def _numbers(self, value: str, count: int, shape: str) -> list[float]:
        try:
            numbers = [float(part) for part in value.split(",")]
        except ValueError:
            numbers = []
        if len(numbers) != count:
            raise forms.ValidationError(_("expected %(shape)s") % {"shape": shape}, code="invalid")
        lng, lat = numbers[0], numbers[1]
        if not (-180 <= lng <= 180 and -90 <= lat <= 90):  # NaN fails these too
            raise forms.ValidationError(
                _("longitude must be in [-180, 180], latitude in [-90, 90]"), code="invalid"
            )
        return numbers

    def clean(self, value) -> Point | None:
        value = super().clean(value)
        if not value:
            return None
        lng, lat = self._numbers(value, 2, "lng,lat")
        return Point(lng, lat, srid=4326)


class NearField(LngLatField):
    """`lng,lat,radius_m` to a WGS-84 Point and a radius in metres, at most MAX_RADIUS_M."""

    def clean(self, value) -> tuple[Point, float] | None:  # type: ignore[override]  # a pair
        value = forms.CharField.clean(self, value)
        if not value:
            return None
        lng, lat, radius = self._numbers(value, 3, "lng,lat,radius_m")
        if not 0 < radius <= MAX_RADIUS_M:
            raise forms.ValidationError(
                _("radius must be in (0, %(most)s] metres") % {"most": MAX_RADIUS_M},
                code="invalid",
            )
        return Point(lng, lat, srid=4326), radius


class PointFilter(django_filters.CharFilter):
    """`lng,lat` (WGS-84); the FilterSet's `method` receives a Point."""

    field_class = LngLatField


class NearFilter(django_filters.CharFilter):
    """`lng,lat,radius_m` (WGS-84); the FilterSet's `method` receives (Point, radius_m)."""

    field_class = NearField


class StrictBooleanField(forms.NullBooleanField):
    """`true` or `false` (also `1` or `0`); anything else is an error, not a filter ignored."""

    widget = forms.TextInput

    def to_python(self, value) -> bool | None:  # type: ignore[override]  # None: not given
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError(_("expected true or false"), code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    """django-filter's BooleanFilter quietly ignores a value it cannot read; this one refuses it."""

    field_class = StrictBooleanField
