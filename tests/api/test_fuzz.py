"""Every operation of the OpenAPI schema, fed generated input by schemathesis as each role
(district staff, a provider admin, a worker, a family member) of a district with data in it:
whatever comes in, the answer is never a 5xx.

Each operation gets input that breaks its schema (negative) and input that fits it (positive);
positive cases name real rows the role owns in paths like /requests/{id}/ (a worker's own
assigned job and pending offer, a provider admin's own organisation, worker and sanction, a
family's own elder and request), so they get past the 404 and into the views' own checks."""

import itertools

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from backend.accounts.tokens import tokens_for
from dispatch import services
from dispatch.models import JobOffer, ServiceType
from elders.models import AlarmDevice
from providers.services import provider_update, sanction_impose
from tests import factories as f
from tests.security.world import maintenance_task

pytestmark = pytest.mark.django_db

# Writes are where a role's own rows meet its own rules; reads mostly filter and serialise.
EXAMPLES = {"GET": 3, "write": 6}
COVERAGE_CASES = 12
# An operation the role may not use answers every well-formed call with the same refusal: it gets
# a few malformed calls (nothing may be read before the refusal), not the whole set.
REFUSED_EXAMPLES = 3


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
def unthrottled():
    """Hundreds of writes per role: throttled answers (tested in tests/accounts) would hide the
    views behind them."""
    from django.conf import settings as django_settings
    from django.test import override_settings

    rates_off = {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
    with override_settings(REST_FRAMEWORK=rates_off):
        yield


@pytest.fixture
def world(district, elder, family, make_worker):
    """One district's rows, and which of them each role owns."""
    worker = make_worker(east_m=100, capacity=3)
    admin = f.UserFactory(role="provider_admin")
    worker.provider.admins.add(admin)
    meal = ServiceType.objects.get(code="meal")

    def offered():
        sr = services.service_request_create(
            elder=elder, service_type=meal, channel="operator", caller=None
        )
        services.request_match(request_id=sr.pk)
        return sr, JobOffer.objects.get(request=sr, worker=worker)

    for _ in range(2):  # two jobs held: a capacity of 1 must be refused, not a 500
        assigned, first_offer = offered()
        services.offer_accept(offer_id=first_offer.pk, user=worker.user)
    _, pending_offer = offered()
    queued = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="bathing"),  # nobody can: the queue
        channel="operator",
        caller=None,
    )
    services.request_match(request_id=queued.pk)
    staff = f.UserFactory(role="district_admin", district=district)
    sanction = sanction_impose(
        provider_id=worker.provider_id, kind="warning", reason="late twice", actor=staff
    )
    _, change = provider_update(provider=worker.provider, actor=admin, service_radius_m=4000)
    ids = {
        "elders": elder.pk,
        "providers": worker.provider_id,
        "workers": worker.pk,
        "sanctions": sanction.pk,
        "provider-changes": change.pk,
        "devices": AlarmDevice.objects.create(elder=elder, serial="FUZZ-1", kind="button").pk,
    }
    staffs = {
        **ids,
        "requests": queued.pk,
        "alerts": queued.alerts.get().pk,
        "device-problems": maintenance_task(ids["devices"]).pk,  # one staff may close
    }
    return {
        "district_admin": (staff, staffs),
        "operator": (f.UserFactory(role="operator", district=district), staffs),
        "provider_admin": (admin, {**ids, "requests": assigned.pk}),
        "worker": (
            worker.user,
            {**ids, "requests": assigned.pk, "offers": pending_offer.pk},
        ),
        "family": (family, {"elders": elder.pk, "requests": assigned.pk}),
    }


@pytest.mark.parametrize(
    "role", ["district_admin", "operator", "provider_admin", "worker", "family"]
)
def test_no_input_makes_a_server_error(wsgi_app, world, role, unthrottled):
    user, owned = world[role]
    # As the token endpoint issues it (staff gave the second factor).
    access = tokens_for(user, second_factor=True).access_token
    headers = {"Authorization": f"Bearer {access}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 60

    for operation in operations:
        kind = operation.path.removeprefix("/api/v1/").split("/")[0]
        real = owned.get(kind)
        positive = (
            operation.as_strategy(path_parameters={"id": real})
            if real is not None and "{id}" in operation.path
            else operation.as_strategy()
        )
        negative = operation.as_strategy(GenerationMode.NEGATIVE)
        write = operation.method.upper() != "GET"
        refused = _refused(positive, headers, unseen=real is None and "{id}" in operation.path)
        if refused:
            cases, examples = negative, REFUSED_EXAMPLES
        else:
            cases, examples = st.one_of(negative, positive), EXAMPLES["write" if write else "GET"]

        @given(case=cases)
        @settings(max_examples=examples, **HYPOTHESIS)
        def no_server_error(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        no_server_error()
        if write and not refused:
            for case in _boundary_cases(schema, operation, real):
                case.call_and_validate(headers=headers, checks=[not_a_server_error])


HYPOTHESIS = {
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
    "derandomize": True,
    "database": None,
}


def _refused(positive, headers, *, unseen: bool) -> bool:
    """Whether the role may not use the operation: three well-formed calls (on the role's own row
    where it has one), each answered 401 or 403; or, where the role has no row of the kind
    (`unseen`), each answered 404 as well. They too must not be a server error."""
    answers = []

    @given(case=positive)
    @settings(max_examples=3, **HYPOTHESIS)
    def probe(case):
        answers.append(
            case.call_and_validate(headers=headers, checks=[not_a_server_error]).status_code
        )

    probe()
    refusals = {401, 403, 404} if unseen else {401, 403}
    return bool(answers) and all(code in refusals for code in answers)


def _boundary_cases(schema, operation, real_id, limit=COVERAGE_CASES):
    """Schemathesis's coverage phase, positive cases only: each field at its bounds (a capacity
    of exactly its minimum, the longest allowed text), deterministically, on the role's row."""
    cases = schema.iter_coverage_cases(
        operation,
        generation_modes=[GenerationMode.POSITIVE],
        generation_config=schema.config.generation_for(operation=operation, phase="coverage"),
    )
    for case in itertools.islice(cases, limit):
        if real_id is not None and "id" in (case.path_parameters or {}):
            case.path_parameters["id"] = real_id
        yield case
