"""Who sees which work order and elder: every endpoint holding elder data, and query budgets."""

import pytest

from dispatch import services
from dispatch.models import ServiceType
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


def make_request(elder):
    return services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="meal"),
        channel="operator",
        caller=None,
    )


def test_a_family_gets_404_for_another_familys_elder_and_request(family, elder, district):
    other_elder = f.ElderFactory(district=district)
    other_request = make_request(other_elder)
    own_request = make_request(elder)
    client = api(family)

    assert client.get(f"/api/v1/elders/{elder.pk}/").status_code == 200
    assert client.get(f"/api/v1/elders/{other_elder.pk}/").status_code == 404
    assert client.get(f"/api/v1/requests/{own_request.pk}/").status_code == 200
    assert client.get(f"/api/v1/requests/{other_request.pk}/").status_code == 404
    assert [r["id"] for r in client.get("/api/v1/requests/").json()["results"]] == [own_request.pk]


def test_an_operator_sees_only_their_district(operator, elder):
    elsewhere = f.ElderFactory()  # another district
    foreign = make_request(elsewhere)
    client = api(operator)

    assert client.get(f"/api/v1/elders/{elsewhere.pk}/").status_code == 404
    assert client.get(f"/api/v1/requests/{foreign.pk}/").status_code == 404
    assert client.get(f"/api/v1/elders/{elder.pk}/").status_code == 200


def test_a_worker_sees_a_request_only_once_it_is_theirs(elder, make_worker):
    worker = make_worker()
    sr = make_request(elder)

    assert api(worker.user).get(f"/api/v1/requests/{sr.pk}/").status_code == 404
    assert api(worker.user).get(f"/api/v1/elders/{elder.pk}/").status_code == 404


def test_anonymous_callers_see_nothing(elder):
    sr = make_request(elder)

    assert api().get(f"/api/v1/requests/{sr.pk}/").status_code == 401
    assert api().get("/api/v1/elders/").status_code == 401


def test_the_request_list_has_a_fixed_query_budget(
    operator, district, make_worker, django_assert_max_num_queries
):
    for _ in range(30):
        make_request(f.ElderFactory(district=district))
    client = api(operator)

    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/requests/")

    assert response.status_code == 200
    assert response.json()["count"] == 30
