"""Coordinates: WGS-84 (SRID 4326) inside the platform; GCJ-02 converted once, at the edge.

GCJ-02 is the offset system mandated for maps published in mainland China (most phone map SDKs
give it). The forward offset is a published closed-form function; the inverse has no closed
form, so it is solved by fixed-point iteration to well under a centimetre.
"""

import json
import math
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import GEOSException, MultiPolygon, Point, Polygon
from django.utils.translation import gettext_lazy
from drf_spectacular.contrib.rest_framework_gis import GeoFeatureModelSerializerExtension
from drf_spectacular.plumbing import build_object_type
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeoJsonDict, GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared

WGS84 = "wgs84"
GCJ02 = "gcj02"
CRS_CHOICES = [(WGS84, "WGS-84 (GPS)"), (GCJ02, "GCJ-02 (Chinese map SDKs)")]


def _inside_china(lng: float, lat: float) -> bool:
    return 72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271


def _offset_lat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _offset_lng(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    if not _inside_china(lng, lat):
        return lng, lat
    d_lat = _offset_lat(lng - 105.0, lat - 35.0)
    d_lng = _offset_lng(lng - 105.0, lat - 35.0)
    rad_lat = math.radians(lat)
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lng + d_lng, lat + d_lat


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    if not _inside_china(lng, lat):
        return lng, lat
    w_lng, w_lat = lng, lat
    for _ in range(30):
        g_lng, g_lat = wgs84_to_gcj02(w_lng, w_lat)
        e_lng, e_lat = g_lng - lng, g_lat - lat
        w_lng, w_lat = w_lng - e_lng, w_lat - e_lat
        if abs(e_lng) < 1e-9 and abs(e_lat) < 1e-9:
            break
    return w_lng, w_lat


def point_wgs84(lng: float, lat: float, crs: str = WGS84) -> Point:
    if crs == GCJ02:
        lng, lat = gcj02_to_wgs84(lng, lat)
    return Point(lng, lat, srid=4326)


GEOJSON_POINT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "GeoJSON Point: coordinates are [longitude, latitude]",
    "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    },
    "required": ["type", "coordinates"],
    "example": {"type": "Point", "coordinates": [125.3245, 43.8868]},
}


@extend_schema_field(GEOJSON_POINT_SCHEMA)
class PointOutputField(GeometryField):
    """A stored WGS-84 point as GeoJSON [longitude, latitude], to 7 decimals (about 1 cm)."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        kwargs.setdefault("precision", 7)
        super().__init__(**kwargs)

    def to_representation(self, value):
        # A stored point is written out directly: GEOS's GeoJSON goes through GDAL, which looks
        # EPSG:4326 up in its database for every point (a millisecond or so each, per row).
        if isinstance(value, Point) and not value.empty and value.srid in (None, 4326):
            return GeoJsonDict(
                type="Point",
                coordinates=(round(value.x, self.precision), round(value.y, self.precision)),
            )
        return super().to_representation(value)


class GeoFeatureSerializer(GeoFeatureModelSerializer):
    """A GeoJSON Feature (a FeatureCollection with many=True) whose geometry may be any
    serializer field, not only a model column: the schema documents the field itself."""


class GeoFeatureSchema(GeoFeatureModelSerializerExtension):
    """rest_framework_gis's schema reads the geometry's type from the model column, which a
    computed geometry (an area, or else a point) does not have; this one reads the field."""

    target_class = GeoFeatureSerializer  # type: ignore[assignment]  # drf-spectacular takes a class
    match_subclasses = True
    priority = 1

    def map_geo_feature_model_serializer(self, serializer, base_schema):
        meta = serializer.Meta
        properties = base_schema["properties"]
        feature = {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": properties.pop(meta.id_field),
            "geometry": properties.pop(meta.geo_field),
        }
        base_schema.pop("required", None)
        description = base_schema.pop("description", None)
        return build_object_type(
            properties={**feature, "properties": base_schema},
            required=["type", "id", "geometry", "properties"],
            description=description,
        )


@extend_schema_field(GEOJSON_POINT_SCHEMA)
class GeoJSONPointInput(serializers.Field):
    """A GeoJSON Point from outside, validated to (longitude, latitude) numbers; the system they
    are in is for a `crs` field to say. Read by hand rather than by GDAL, so no `crs` member
    or other geometry type can slip in."""

    default_error_messages = {
        "not_a_point": gettext_lazy('Must be a GeoJSON object with "type": "Point".'),
        "coordinates": gettext_lazy("coordinates must be [longitude, latitude]."),
        "range": gettext_lazy("longitude must be in [-180, 180], latitude in [-90, 90]."),
    }

    def to_internal_value(self, data) -> tuple[float, float]:
        if not isinstance(data, dict) or data.get("type") != "Point":
            self.fail("not_a_point")
        coords = data.get("coordinates")
        if (
            not isinstance(coords, list)
            or len(coords) != 2
            or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in coords)
        ):
            self.fail("coordinates")
        lng, lat = coords  # compared before float(): a huge integer would overflow it
        if not (-180 <= lng <= 180 and -90 <= lat <= 90):
            self.fail("range")
        return (float(lng), float(lat))

    def to_representation(self, value) -> dict:
        lng, lat = (value.x, value.y) if isinstance(value, Point) else value
        return {"type": "Point", "coordinates": [lng, lat]}


class PositionSerializer(serializers.Serializer):
    """A phone's position: GeoJSON Point [longitude, latitude] and the system it is in."""

    location = GeoJSONPointInput(
        help_text="GeoJSON Point [longitude, latitude], in the system `crs` names"
    )
    crs = serializers.ChoiceField(
        choices=CRS_CHOICES,
        default=WGS84,
        help_text="Coordinate system of `location`: wgs84 (GPS) or gcj02 (Chinese map SDKs)",
    )

    def to_point(self) -> Point:
        lng, lat = self.validated_data["location"]
        return point_wgs84(lng, lat, self.validated_data["crs"])


def polygon_from_geojson(text: str) -> Polygon | MultiPolygon | None:
    """Built from coordinates by GEOS: no GDAL parsing, and no `crs` member, from outside.

    None for anything that is not a valid Polygon or MultiPolygon within the bounds: at most
    ANXIN["MAX_POLYGON_VERTICES"] vertices (and text to match), nested no deeper than GeoJSON
    nests them."""
    area: Polygon | MultiPolygon
    vertices = settings.ANXIN["MAX_POLYGON_VERTICES"]
    if len(text) > vertices * 50 or text.count("[") > vertices * 2 + 8:
        return None
    try:
        data = json.loads(text)
        if data.get("type") == "Polygon":
            area = Polygon(*data["coordinates"], srid=4326)
        elif data.get("type") == "MultiPolygon":
            area = MultiPolygon(*(Polygon(*rings) for rings in data["coordinates"]), srid=4326)
        else:
            return None
    except (ValueError, TypeError, KeyError, AttributeError, GEOSException, RecursionError):
        return None
    if area.num_points > vertices:
        return None
    return area if area.valid else None
