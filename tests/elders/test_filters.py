import json

import pytest
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from elders.api.serializers import ElderListOutput
from elders.api.views import ElderFeaturesView
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


@pytest.fixture
def town(district):
    return {
        "alone_old": f.ElderFactory(
            district=district,
            full_name="王秀英",
            division_code="220104002003",
            living_arrangement="alone",
            categories=["advanced_age", "low_income"],
            care_level=3,
            location=f.offset(f.HOME, east_m=100),
        ),
        "with_family": f.ElderFactory(
            district=district,
            full_name="李建国",
            division_code="220104002004",
            living_arrangement="with_family",
            categories=["veteran"],
            care_level=0,
            phone="+8613800138000",
            location=f.offset(f.HOME, east_m=3000),
        ),
        "other_town": f.ElderFactory(
            district=district,
            full_name="赵淑珍",
            division_code="220104003001",
            living_arrangement="alone",
            categories=["advanced_age"],
            care_level=1,
            location=f.offset(f.HOME, north_m=9000),
        ),
    }


def ids_for(operator, **params):
    response = api(operator).get("/api/v1/elders/", params)
    assert response.status_code == 200, response.json()
    return {e["id"] for e in response.json()["results"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"division": "220104002"}, {"alone_old", "with_family"}),
        ({"division": "220104002003"}, {"alone_old"}),
        ({"division": "22"}, {"alone_old", "with_family", "other_town"}),
        ({"category": "advanced_age"}, {"alone_old", "other_town"}),
        ({"category": ["advanced_age", "low_income"]}, {"alone_old"}),
        ({"care_level": ["1", "3"]}, {"alone_old", "other_town"}),
        ({"living_arrangement": "alone"}, {"alone_old", "other_town"}),
        ({"near": f"{f.HOME[0]},{f.HOME[1]},1000"}, {"alone_old"}),
        ({"near": f"{f.HOME[0]},{f.HOME[1]},5000"}, {"alone_old", "with_family"}),
        ({"q": "秀英"}, {"alone_old"}),
        ({"q": "138 0013 8000"}, {"with_family"}),
    ],
)
def test_filters(params, expected, town, operator):
    assert ids_for(operator, **params) == {town[k].pk for k in expected}


def test_inside_a_polygon(town, operator):
    lng, lat = f.HOME
    box = {
        "type": "Polygon",
        "coordinates": [
            [
                [lng - 0.01, lat - 0.01],
                [lng + 0.05, lat - 0.01],
                [lng + 0.05, lat + 0.01],
                [lng - 0.01, lat + 0.01],
                [lng - 0.01, lat - 0.01],
            ]
        ],
    }

    assert ids_for(operator, within=json.dumps(box)) == {
        town["alone_old"].pk,
        town["with_family"].pk,
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"division": "2201"}, None),
        ({"division": "22010"}, "division"),
        ({"near": "east,north,10"}, "near"),
        ({"near": "125,43,999999"}, "near"),
        ({"within": "{not json"}, "within"),
        ({"within": json.dumps({"type": "Point", "coordinates": [1, 2]})}, "within"),
        ({"care_level": "9"}, "care_level"),
        ({"category": "alien"}, "category"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(params, field, operator, town):
    response = api(operator).get("/api/v1/elders/", params)

    if field is None:
        assert response.status_code == 200
    else:
        assert response.status_code == 400, response.json()
        assert field in response.json()["error"]["fields"]


def test_geojson_features_for_the_map(town, operator, family):
    body = api(operator).get("/api/v1/elders/features/", {"living_arrangement": "alone"}).json()

    collection = body["results"]
    assert collection["type"] == "FeatureCollection"
    assert {feat["id"] for feat in collection["features"]} == {
        town["alone_old"].pk,
        town["other_town"].pk,
    }
    assert collection["features"][0]["geometry"]["type"] == "Point"
    assert api(family).get("/api/v1/elders/features/").status_code == 403


def test_the_list_has_a_fixed_query_budget(district, operator, django_assert_max_num_queries):
    for _ in range(40):
        f.ElderFactory(district=district, categories=["advanced_age"])

    with django_assert_max_num_queries(3):
        response = api(operator).get("/api/v1/elders/", {"category": "advanced_age"})

    assert response.json()["count"] == 40


def test_the_detail_has_a_fixed_query_budget(registered, operator, django_assert_max_num_queries):
    for priority in range(1, 6):
        f.ContactFactory(elder=registered, priority=priority)

    with django_assert_max_num_queries(4):
        body = api(operator).get(f"/api/v1/elders/{registered.pk}/").json()

    assert len(body["contacts"]) == 5


def test_the_map_is_a_feature_collection_from_rest_framework_gis(town, operator):
    elder = town["alone_old"]

    body = api(operator).get("/api/v1/elders/features/", {"division": "220104002003"}).json()

    assert issubclass(ElderFeaturesView.serializer_class, GeoFeatureModelSerializer)
    assert body == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": elder.pk,
                    "geometry": {
                        "type": "Point",
                        "coordinates": [round(elder.location.x, 7), round(elder.location.y, 7)],
                    },
                    "properties": {
                        "full_name": "王秀英",
                        "care_level": 3,
                        "living_arrangement": "alone",
                        "categories": ["advanced_age", "low_income"],
                    },
                }
            ],
        },
    }


def test_points_go_out_through_rest_framework_gis_as_lng_lat(town, operator):
    elder = town["alone_old"]

    listed = api(operator).get("/api/v1/elders/", {"division": "220104002003"}).json()

    assert isinstance(ElderListOutput().fields["location"], GeometryField)
    assert listed["results"][0]["location"] == {
        "type": "Point",
        "coordinates": [round(elder.location.x, 7), round(elder.location.y, 7)],
    }


BRIEF_HIDES = [
    {"category": "veteran"},
    {"care_level": "0"},
    {"living_arrangement": "with_family"},
    {"near": f"{f.HOME[0] + 0.04},{f.HOME[1]},500"},
    {"q": "李建国"},
    {"q": "138 0013 8000"},
    {"status": "active"},
    {"division": "220104002004"},
    {"category": "veteran", "q": "李"},
]


@pytest.fixture
def brief_viewers(town, make_worker, user_of):
    """A worker holding live grants for two elders, and the provider admin of that worker."""
    from datetime import timedelta

    from django.utils import timezone

    from elders import services

    worker = make_worker()
    admin = user_of("provider_admin")
    worker.provider.admins.add(admin)
    for n, key in enumerate(("alone_old", "with_family")):
        services.access_grant_issue(
            elder_id=town[key].pk,
            user_id=worker.user.pk,
            purpose="job",
            reference=f"request:{n}",
            expires_at=timezone.now() + timedelta(hours=1),
        )
    return {"worker": worker.user, "provider_admin": admin}


@pytest.mark.parametrize("role", ["worker", "provider_admin"])
def test_the_brief_list_is_whole_without_filters(role, brief_viewers, town):
    listed = api(brief_viewers[role]).get("/api/v1/elders/").json()["results"]

    assert {e["id"] for e in listed} == {town["alone_old"].pk, town["with_family"].pk}
    assert all(set(e) == {"id", "full_name", "gender", "address"} for e in listed)


@pytest.mark.parametrize("params", BRIEF_HIDES)
@pytest.mark.parametrize("role", ["worker", "provider_admin"])
def test_a_role_shown_the_brief_list_cannot_filter_it_by_what_it_hides(role, params, brief_viewers):
    # Given a role whose list shows name, gender and address only
    # When it narrows the list by a care category, level, arrangement, place, phone or status
    response = api(brief_viewers[role]).get("/api/v1/elders/", params)

    # Then it is refused, naming the parameters, rather than answering who matches
    assert response.status_code == 400, response.json()
    assert set(response.json()["error"]["fields"]) == set(params)


def test_a_family_still_filters_its_own_elders(town, user_of):
    family = user_of("family")
    for key in ("alone_old", "with_family"):
        f.ContactFactory(elder=town[key], user=family)

    assert ids_for(family, category="veteran") == {town["with_family"].pk}
