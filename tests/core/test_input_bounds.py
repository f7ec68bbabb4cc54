"""Input the platform refuses with a 4xx before it can hurt: bodies too big or nested too deep,
polygons too large."""

import json

import pytest

from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db

DEEP = "[" * 2000 + "]" * 2000


def test_a_deeply_nested_within_filter_is_a_400(operator):
    response = api(operator).get("/api/v1/elders/", {"within": DEEP})

    assert response.status_code == 400
    assert "within" in response.json()["error"]["fields"]


def test_a_deeply_nested_json_body_is_a_400(operator):
    response = api(operator).post(
        "/api/v1/requests/", data='{"elder": ' + DEEP + "}", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.usefixtures("english")
def test_a_body_nested_past_the_limit_but_within_the_parser_is_a_400(operator):
    body = {"elder": 1, "notes": "x"}
    for _ in range(40):
        body = {"a": body}

    response = api(operator).post("/api/v1/requests/", body, format="json")

    assert response.status_code == 400
    assert "nested" in response.json()["error"]["message"]


def test_a_body_over_the_size_limit_is_a_413(operator, settings):
    settings.ANXIN = {**settings.ANXIN, "MAX_JSON_BYTES": 1000}

    response = api(operator).post(
        "/api/v1/requests/", {"elder": 1, "notes": "x" * 2000}, format="json"
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_service_area_with_too_many_vertices_is_a_400(district, settings):
    settings.ANXIN = {**settings.ANXIN, "MAX_POLYGON_VERTICES": 100}
    admin = f.UserFactory(role="district_admin", district=district)
    provider = f.ProviderFactory(district=district)
    ring = [[125.3 + 0.001 * i, 43.8 + 0.0001 * (i % 2)] for i in range(200)]
    ring.append(ring[0])

    response = api(admin).patch(
        f"/api/v1/providers/{provider.pk}/",
        {"service_area": {"type": "Polygon", "coordinates": [ring]}},
        format="json",
    )

    assert response.status_code == 400
    assert "service_area" in response.json()["error"]["fields"]


def test_a_reasonable_polygon_still_works(operator, elder):
    square = [[125.0, 43.5], [126.0, 43.5], [126.0, 44.5], [125.0, 44.5], [125.0, 43.5]]

    response = api(operator).get(
        "/api/v1/elders/", {"within": json.dumps({"type": "Polygon", "coordinates": [square]})}
    )

    assert response.status_code == 200
