"""Lists paginate by page: `page_size` sets the page's length, up to a documented maximum."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db

MAX_PAGE_SIZE = 200  # README, Conventions


def test_page_size_sets_how_many_come_back(operator, district):
    f.ElderFactory.create_batch(7, district=district)

    body = api(operator).get("/api/v1/elders/", {"page_size": 5}).json()

    assert len(body["results"]) == 5
    assert body["count"] == 7
    assert "page_size=5" in body["next"]


def test_page_size_is_capped_at_the_maximum(operator, district):
    f.ElderFactory.create_batch(MAX_PAGE_SIZE + 1, district=district)

    body = api(operator).get("/api/v1/elders/", {"page_size": 10_000}).json()

    assert len(body["results"]) == MAX_PAGE_SIZE
    assert body["next"] is not None


def test_the_feature_collections_take_page_size_too(operator, district):
    f.ElderFactory.create_batch(3, district=district)

    body = api(operator).get("/api/v1/elders/features/", {"page_size": 2}).json()

    assert len(body["results"]["features"]) == 2
    assert body["count"] == 3


@pytest.mark.parametrize("value", ["many", "0", "-3", "2.5"])
def test_a_page_size_that_is_not_a_positive_whole_number_is_a_400(value, operator):
    response = api(operator).get("/api/v1/elders/", {"page_size": value})

    assert response.status_code == 400
    assert "page_size" in response.json()["error"]["fields"]


def test_every_paginated_list_documents_page_size_and_its_maximum():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    lists = [
        op
        for ops in schema["paths"].values()
        for op in ops.values()
        if any(p["name"] == "page" for p in op.get("parameters", []))
    ]
    assert len(lists) >= 10
    for op in lists:
        [page_size] = [p for p in op["parameters"] if p["name"] == "page_size"]
        assert page_size["schema"] == {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
