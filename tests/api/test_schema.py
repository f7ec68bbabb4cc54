"""The OpenAPI schema is clean and truthful: generated without a warning or error, and every
operation it advertises exists for someone (never a 404 for the path or a 405 for the method)."""

import uuid
from datetime import date

import pytest
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from alarms.services import MessageIn, device_message_take
from dispatch import services
from dispatch.models import Complaint, JobOffer, OperatorAlert, ServiceType, Visit
from elders.models import AlarmDevice
from hotline import services as hotline
from providers import services as provider_services
from settlement.services import statement_issue
from tests import factories as f
from tests.conftest import api
from tests.security.world import maintenance_task

pytestmark = pytest.mark.django_db

AT_THE_DOOR = {"location": {"type": "Point", "coordinates": list(f.HOME)}}


def generated_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_is_valid_and_generates_without_warnings_or_errors():
    GENERATOR_STATS.reset()

    schema = generated_schema()

    validate_schema(schema)
    assert not GENERATOR_STATS, {**GENERATOR_STATS._warn_cache, **GENERATOR_STATS._error_cache}


def test_the_elder_map_is_read_only():
    assert set(generated_schema()["paths"]["/api/v1/elders/features/"]) == {"get"}


def test_posting_to_the_elder_map_is_405_not_404(operator):
    response = api(operator).post("/api/v1/elders/features/", {}, format="json")

    assert response.status_code == 405


@pytest.fixture
def world(district, elder, family, make_worker, django_capture_on_commit_callbacks):
    """One row of each kind the schema's paths name, and the people who act on them."""
    admin = f.UserFactory(role="district_admin", district=district)
    offered_to = make_worker(east_m=100, skills=["meal"])
    with django_capture_on_commit_callbacks(execute=True):
        offered = services.service_request_create(
            elder=elder,
            service_type=ServiceType.objects.get(code="meal"),
            channel="operator",
            caller=None,
        )
    visitor = make_worker(east_m=30, skills=["cleaning"])
    with django_capture_on_commit_callbacks(execute=True):
        visited = services.service_request_create(
            elder=elder,
            service_type=ServiceType.objects.get(code="cleaning"),
            channel="operator",
            caller=None,
        )
    client = api(visitor.user)
    client.post(f"/api/v1/offers/{JobOffer.objects.get(request=visited).pk}/accept/")
    client.post(f"/api/v1/requests/{visited.pk}/check-in/", AT_THE_DOOR, format="json")
    client.post(f"/api/v1/requests/{visited.pk}/check-out/", AT_THE_DOOR, format="json")
    api(family).post(f"/api/v1/requests/{visited.pk}/feedback/", {"rating": 1}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        queued = services.service_request_create(  # nobody bathes: the operator queue
            elder=elder,
            service_type=ServiceType.objects.get(code="bathing"),
            channel="operator",
            caller=None,
        )
    provider_admin = f.UserFactory(role="provider_admin")
    offered_to.provider.admins.add(provider_admin)
    sanction = provider_services.sanction_impose(
        provider_id=offered_to.provider_id, kind="warning", reason="late twice", actor=admin
    )
    appeal = provider_services.appeal_file(
        sanction=sanction, actor=provider_admin, grounds="traffic"
    )
    _, change = provider_services.provider_update(
        provider=offered_to.provider, actor=provider_admin, service_radius_m=4000
    )
    calls = [
        hotline.call_enqueue(
            call_id=hotline.call_arrive(
                call_sid=sid,
                from_number="+8613900000000",
                to_number="+8643112349",
                district_id=district.pk,
            ).pk
        )
        for sid in ("CAwaiting", "CAleft")
    ]
    hotline.call_voicemail(call_sid="CAleft")
    call_back = hotline.call_message_record(
        call_sid="CAleft",
        recording_sid="RE1",
        recording_url="https://api.twilio.com/r",
        duration_s=5,
    )
    device = AlarmDevice.objects.create(elder=elder, serial="S-1", kind="button")
    now = timezone.now()
    sos = MessageIn(event_id=uuid.uuid4(), kind="sos", at=now, location=None, battery=None)
    statement = statement_issue(  # a month long over: no visits on it
        actor=admin, provider=offered_to.provider, month=date(2025, 1, 1)
    )
    return {
        "admin": admin,
        "offered_to": offered_to.user,
        "visitor": visitor.user,
        "provider_admin": provider_admin,
        "/api/v1/elders/": elder.pk,
        "/api/v1/providers/": offered_to.provider_id,
        "/api/v1/workers/": offered_to.pk,
        "/api/v1/requests/": offered.pk,
        "/api/v1/offers/": JobOffer.objects.get(request=offered).pk,
        "/api/v1/alerts/": OperatorAlert.objects.get(request=queued).pk,
        "/api/v1/complaints/": Complaint.objects.get(request=visited).pk,
        "/api/v1/visits/": Visit.objects.get(request=visited).pk,
        "/api/v1/sanctions/": sanction.pk,
        "/api/v1/appeals/": appeal.pk,
        "/api/v1/users/": offered_to.user.pk,
        "/api/v1/provider-changes/": change.pk,
        "/api/v1/calls/": calls[0].pk,
        "/api/v1/call-backs/": call_back.pk,
        "/api/v1/devices/": device.pk,
        "/api/v1/alarms/": device_message_take(
            device_id=device.pk, message=sos, received_at=now
        ).alarm_id,
        "/api/v1/device-problems/": maintenance_task(device.pk).pk,
        "/api/v1/statements/": statement.pk,
        "visited": visited.pk,
    }


# Who may call an operation (district administrator unless listed), and which row it names.
CALLERS = [
    ("/api/v1/auth/", None, None),
    ("/api/v1/workers/me/", "offered_to", None),
    ("/api/v1/offers/{id}/", "offered_to", None),
    ("/api/v1/requests/{id}/set-out/", "visitor", "visited"),
    ("/api/v1/requests/{id}/check-in/", "visitor", "visited"),
    ("/api/v1/requests/{id}/check-out/", "visitor", "visited"),
    ("/api/v1/sanctions/", "provider_admin", None),
]


def call(world, path: str, method: str):
    who, row = next(((w, r) for p, w, r in CALLERS if path.startswith(p)), ("admin", None))
    user = world[who] if who else None
    if "{id}" in path:
        pk = world[row] if row else next(v for k, v in world.items() if path.startswith(k))
        path = path.replace("{id}", str(pk))
    client = api(user)
    if method == "get":
        return client.get(path)
    return getattr(client, method)(path, {}, format="json")


def test_every_operation_in_the_schema_exists_for_a_suitable_caller(world):
    operations = [
        (path, method)
        for path, ops in generated_schema()["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) > 60

    answers = {(path, method): call(world, path, method).status_code for path, method in operations}

    missing = {op: code for op, code in answers.items() if code in (404, 405) or code >= 500}
    assert missing == {}


ELDER_FILTERS = {"division", "category", "care_level", "living_arrangement", "status", "near"}
PROVIDER_FILTERS = {"serving", "near", "service", "status", "kind"}
LIST_FILTERS = {
    "/api/v1/elders/": ELDER_FILTERS | {"within", "q"},
    "/api/v1/elders/features/": ELDER_FILTERS | {"within", "q"},
    "/api/v1/providers/": PROVIDER_FILTERS,
    "/api/v1/providers/features/": PROVIDER_FILTERS,
    "/api/v1/appeals/": {"state"},
    "/api/v1/provider-changes/": {"state", "provider"},
    "/api/v1/requests/": {"state", "sla_missed"},
    "/api/v1/offers/": {"state"},
    "/api/v1/alerts/": {"open", "unresolved", "kind"},
    "/api/v1/visits/exceptions/": {"state"},
    "/api/v1/complaints/": {"state"},
    "/api/v1/alarms/queue/": set(),
    "/api/v1/device-problems/": {"open", "kind", "elder"},
}


@pytest.mark.parametrize(("path", "filters"), LIST_FILTERS.items())
def test_every_list_documents_its_filters_and_pages(path, filters):
    parameters = generated_schema()["paths"][path]["get"]["parameters"]

    assert {p["name"] for p in parameters} == filters | {"page", "page_size"}
