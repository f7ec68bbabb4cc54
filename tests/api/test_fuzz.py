"""Every operation of the OpenAPI schema, fed generated input by schemathesis as a district
administrator of a district with data in it: whatever comes in, the answer is never a 5xx.

Each operation gets input that breaks its schema (negative) and input that fits it (positive);
positive cases name real rows in paths like /requests/{id}/, so they get past the 404 and
into the views' own checks."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from dispatch import services
from dispatch.models import OperatorAlert, ServiceType
from tests import factories as f

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 16


@pytest.fixture
def wsgi_app(db):
    # As Django's test client does: keep the test's connection (and its transaction) open
    # across the requests the WSGI handler serves.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def real_ids(district, elder, make_worker):
    """A row of each kind the paths name, in the caller's district."""
    worker = make_worker(east_m=100)
    queued = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="bathing"),  # nobody can: the queue
        channel="operator",
        caller=None,
    )
    services.request_match(request_id=queued.pk)
    return {
        "/api/v1/elders/": elder.pk,
        "/api/v1/providers/": worker.provider_id,
        "/api/v1/workers/": worker.pk,
        "/api/v1/requests/": queued.pk,
        "/api/v1/alerts/": OperatorAlert.objects.get(request=queued).pk,
    }


def test_no_input_makes_a_server_error(wsgi_app, district, real_ids):
    admin = f.UserFactory(role="district_admin", district=district)
    headers = {"Authorization": f"Bearer {AccessToken.for_user(admin)}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 60

    for operation in operations:
        real = next(
            (pk for prefix, pk in real_ids.items() if operation.path.startswith(prefix)), None
        )
        positive = (
            operation.as_strategy(path_parameters={"id": real})
            if real is not None and "{id}" in operation.path
            else operation.as_strategy()
        )
        cases = st.one_of(operation.as_strategy(GenerationMode.NEGATIVE), positive)

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def no_server_error(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        no_server_error()
