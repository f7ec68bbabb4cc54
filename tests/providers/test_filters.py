import json

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django_filters import FilterSet
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from providers.api.views import AppealListView, ProviderFeaturesView, ProviderListView
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


@pytest.mark.parametrize("view", [ProviderListView, ProviderFeaturesView, AppealListView])
def test_provider_lists_filter_through_a_filterset(view):
    assert issubclass(view.filterset_class, FilterSet)
    assert view.filterset_class.__module__ == "providers.api.filters"


def test_status_and_kind_filter(market, operator):
    market["radius_far"].status = "suspended"
    market["radius_far"].kind = "clinic"
    market["radius_far"].save(update_fields=["status", "kind"])

    assert listed(operator, status="suspended") == [market["radius_far"].pk]
    assert listed(operator, kind="clinic", status="suspended") == [market["radius_far"].pk]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "closed"},
        {"kind": "spaceship"},
        {"serving": "125.3,95"},
        {"near": "125,43,60000"},
        {"near": "125,43,10,4"},
    ],
)
def test_bad_filter_values_are_400_naming_the_parameter(params, operator, market):
    response = api(operator).get("/api/v1/providers/", params)

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == set(params)


def test_the_map_is_a_feature_collection_from_rest_framework_gis(market, operator):
    area = market["area_here"]

    body = api(operator).get("/api/v1/providers/features/", {"service": "meal"}).json()

    assert issubclass(ProviderFeaturesView.serializer_class, GeoFeatureModelSerializer)
    collection = body["results"]
    assert collection["type"] == "FeatureCollection"
    by_id = {feature["id"]: feature for feature in collection["features"]}
    assert set(by_id) == {area.pk, market["radius_here"].pk}
    geometry = by_id[area.pk].pop("geometry")
    assert by_id[area.pk] == {
        "type": "Feature",
        "id": area.pk,
        "properties": {
            "name": area.name,
            "status": "active",
            "kind": area.kind,
            "service_radius_m": None,
        },
    }
    assert geometry["type"] == "MultiPolygon"
    assert flat(geometry["coordinates"]) == pytest.approx(
        flat(json.loads(area.service_area.geojson)["coordinates"]), abs=1e-7
    )
    radius = market["radius_here"]
    assert by_id[radius.pk]["geometry"]["type"] == "Point"
    assert by_id[radius.pk]["geometry"]["coordinates"] == pytest.approx(
        [radius.base_location.x, radius.base_location.y], abs=1e-7
    )
    assert by_id[radius.pk]["properties"]["service_radius_m"] == 2000


def flat(coordinates):
    if isinstance(coordinates, (int, float)):
        return [coordinates]
    return [x for part in coordinates for x in flat(part)]
