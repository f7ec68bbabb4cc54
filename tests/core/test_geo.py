import json
import math

import pytest
from django.contrib.gis.geos import Point
from hypothesis import given
from hypothesis import strategies as st

from backend.core.geo import PositionSerializer, gcj02_to_wgs84, wgs84_to_gcj02


def metres(a, b):
    lat = math.radians((a[1] + b[1]) / 2)
    return math.hypot((a[0] - b[0]) * 111_320 * math.cos(lat), (a[1] - b[1]) * 110_574)


@pytest.mark.parametrize("place", [(125.3245, 43.8868), (116.3975, 39.9087), (121.4737, 31.2304)])
def test_gcj02_is_shifted_hundreds_of_metres_and_converts_back(place):
    shifted = wgs84_to_gcj02(*place)

    assert 100 < metres(place, shifted) < 1000
    assert metres(place, gcj02_to_wgs84(*shifted)) < 0.01


def test_outside_china_nothing_is_shifted():
    assert wgs84_to_gcj02(-0.1276, 51.5072) == (-0.1276, 51.5072)


@pytest.mark.parametrize(
    "location",
    [
        {"type": "Point", "coordinates": [10**400, 43.9]},
        {"type": "Point", "coordinates": [125.3, -(10**400)]},
        {"type": "Point", "coordinates": [125.3, 43.9, 10]},
        {"type": "Point", "coordinates": [True, 43.9]},
        {"type": "Polygon", "coordinates": [[[125.3, 43.9]]]},
        "125.3,43.9",
    ],
)
def test_a_position_that_is_not_a_geojson_point_in_range_is_refused(location):
    position = PositionSerializer(data={"location": location})

    assert not position.is_valid()
    assert list(position.errors) == ["location"]


def test_a_gcj02_position_becomes_wgs84_once():
    lng, lat = wgs84_to_gcj02(125.3245, 43.8868)
    position = PositionSerializer(
        data={"location": {"type": "Point", "coordinates": [lng, lat]}, "crs": "gcj02"}
    )

    assert position.is_valid(), position.errors
    point = position.to_point()
    assert (point.srid, round(point.x, 6), round(point.y, 6)) == (4326, 125.3245, 43.8868)


@given(
    lng=st.floats(min_value=-180, max_value=180, allow_nan=False),
    lat=st.floats(min_value=-90, max_value=90, allow_nan=False),
)
def test_a_point_is_written_as_gdal_would_write_it(lng, lat):
    """PointOutputField writes a stored point itself (GDAL looks its SRS up for each one):
    the same GeoJSON, to the same 7 decimals."""
    from rest_framework_gis.fields import GeometryField

    from backend.core.geo import PointOutputField

    point = Point(lng, lat, srid=4326)
    ours = PointOutputField().to_representation(point)
    assert ours == GeometryField(precision=7).to_representation(point)
    assert json.loads(str(ours)) == {"type": "Point", "coordinates": list(ours["coordinates"])}
