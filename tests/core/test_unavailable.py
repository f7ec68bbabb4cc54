"""A database that is overloaded (no pooled connection free in time), unreachable, or that
ended the transaction (deadlock) answers 503 with Retry-After: the client sends the same
request again, and nothing of the failed one was kept."""

import pytest
from django.db import OperationalError

from dispatch import services
from dispatch.models import ServiceRequest
from tests.conftest import api

pytestmark = pytest.mark.django_db


def test_a_database_error_answers_503_with_retry_after_and_keeps_nothing(
    catalogue, operator, elder, monkeypatch
):
    real = services.service_request_create

    def create_then_fail(**kwargs):
        real(**kwargs)  # written, then the transaction fails, as a deadlock would end it
        raise OperationalError("couldn't get a connection after 5.00 sec")

    monkeypatch.setattr(services, "service_request_create", create_then_fail)
    body = {"elder": elder.pk, "service_type": "meal"}

    response = api(operator).post(
        "/api/v1/requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-503"
    )

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "unavailable"
    assert not ServiceRequest.objects.exists()

    monkeypatch.setattr(services, "service_request_create", real)
    again = api(operator).post(
        "/api/v1/requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-503"
    )
    assert again.status_code == 201, again.content
    assert ServiceRequest.objects.count() == 1
