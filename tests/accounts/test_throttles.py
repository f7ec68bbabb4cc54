"""Writes are throttled per role, anonymous callers per address; a 429 says when to retry."""

import pytest
from django.conf import settings

from tests.conftest import api

pytestmark = pytest.mark.django_db
REQUESTS_PER_HOUR = 10  # a family member's work orders (settings: requests.family)
EMERGENCIES_PER_HOUR = 3  # of which emergencies (emergencies.family)


def ask(user, elder, service: str):
    return api(user).post(
        "/api/v1/requests/", {"elder": elder.pk, "service_type": service}, format="json"
    )


def test_throttles_run_on_every_view():
    assert settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_CLASSES")


def test_a_family_member_gets_429_after_a_few_emergencies_an_hour(family, elder):
    answers = [ask(family, elder, "emergency") for _ in range(EMERGENCIES_PER_HOUR + 2)]

    assert [a.status_code for a in answers[:EMERGENCIES_PER_HOUR]] == [201] * EMERGENCIES_PER_HOUR
    refused = answers[EMERGENCIES_PER_HOUR]
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert refused.json()["error"]["code"] == "throttled"


def test_a_family_member_gets_429_after_a_few_requests_an_hour(family, elder):
    codes = [ask(family, elder, "meal").status_code for _ in range(REQUESTS_PER_HOUR + 1)]

    assert codes[:REQUESTS_PER_HOUR] == [201] * REQUESTS_PER_HOUR
    assert codes[REQUESTS_PER_HOUR] == 429


def test_the_operator_still_logs_emergencies_for_an_elder_whose_family_is_throttled(
    family, elder, operator
):
    for _ in range(EMERGENCIES_PER_HOUR + 1):
        ask(family, elder, "emergency")

    assert ask(operator, elder, "emergency").status_code == 201


def test_anonymous_callers_are_throttled_per_address():
    def refresh(address):
        return api().post(
            "/api/v1/auth/token/refresh/", {"refresh": "x"}, format="json", REMOTE_ADDR=address
        )

    codes = [refresh("203.0.113.9").status_code for _ in range(121)]

    assert set(codes[:120]) == {401}
    assert codes[120] == 429
    assert refresh("198.51.100.1").status_code == 401


def test_a_worker_posting_a_position_every_second_is_never_throttled(make_worker):
    worker = make_worker()
    client = api(worker.user)
    position = {"location": {"type": "Point", "coordinates": [125.3245, 43.8868]}}

    codes = {
        client.post("/api/v1/workers/me/location/", position, format="json").status_code
        for _ in range(60)
    }

    assert 429 not in codes and codes <= {200, 201, 202, 204}
