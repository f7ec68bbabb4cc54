import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(district):
    lng, lat = f.HOME
    return {
        "area_here": f.ProviderFactory(
            district=district,
            services=["meal"],
            service_area=(
                MultiPolygon(
                    Polygon.from_bbox((lng - 0.01, lat - 0.01, lng + 0.01, lat + 0.01)), srid=4326
                )
            ),
        ),
        "radius_far": f.ProviderFactory(
            district=district,
            services=["bathing"],
            base_location=f.offset(f.HOME, east_m=8000),
            service_radius_m=2000,
        ),
        "radius_here": f.ProviderFactory(
            district=district,
            services=["bathing", "meal"],
            base_location=f.offset(f.HOME, north_m=500),
            service_radius_m=2000,
        ),
    }


def listed(user, **params):
    response = api(user).get("/api/v1/providers/", params)
    assert response.status_code == 200, response.json()
    return [p["id"] for p in response.json()["results"]]


def test_providers_serving_a_point(market, operator):
    found = listed(operator, serving=f"{f.HOME[0]},{f.HOME[1]}")

    assert set(found) == {market["area_here"].pk, market["radius_here"].pk}


def test_providers_near_a_point_nearest_first_and_offering_a_service(market, operator):
    near = listed(operator, near=f"{f.HOME[0]},{f.HOME[1]},10000", service="bathing")

    assert near == [market["radius_here"].pk, market["radius_far"].pk]


def test_service_areas_as_geojson(market, operator):
    body = api(operator).get("/api/v1/providers/features/").json()["results"]

    geometry = {feat["id"]: feat["geometry"]["type"] for feat in body["features"]}
    assert geometry[market["area_here"].pk] == "MultiPolygon"
    assert geometry[market["radius_far"].pk] == "Point"


@pytest.mark.parametrize("params", [{"serving": "x,y"}, {"near": "125,43"}, {"near": "125,43,0"}])
def test_bad_points_are_400(params, operator, market):
    response = api(operator).get("/api/v1/providers/", params)

    assert response.status_code == 400
    assert list(params)[0] in response.json()["error"]["fields"]
