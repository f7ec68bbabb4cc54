"""Every endpoint and WebSocket message, for every role and for an anonymous caller, on the
caller's own tenant's objects and on another district's. The expected answer of each cell is
the table below, written by hand from the rules in the docs (README, docs/elders.md,
docs/providers.md, docs/dispatch.md), not read off today's behaviour; an endpoint the schema has
and the table lacks (or the reverse) fails the test.

A cell is `allowed` when the answer is anything but 401, 403 or 404 (a 400 for the empty body
the matrix sends, or a 409 for a state that does not fit, means the caller got past the access
checks into the view's own); `refused` is 403 or 404 (the API answers 404 for what a caller may
not see); anonymous callers get 401. Every list is also read for rows of the other district:
there must be none.
"""

import asyncio

import pytest
from channels.testing import WebsocketCommunicator
from django.db.models import Q
from rest_framework.test import APIClient

from alarms.models import Alarm, DeviceProblem
from backend.accounts.models import Role
from backend.asgi import application
from backend.core.models import Event
from backend.core.tickets import ws_ticket_issue
from dispatch.models import Complaint, JobOffer, OperatorAlert, ServiceRequest, Visit
from elders.models import Elder
from hotline.models import Call, CallBack
from providers.models import Appeal, Provider, Sanction
from tests.conftest import cache_forget, run_bounded
from tests.security.world import build_tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

OP, SUP, ADM = Role.OPERATOR, Role.SUPERVISOR, Role.DISTRICT_ADMIN
PADM, WRK, FAM = Role.PROVIDER_ADMIN, Role.WORKER, Role.FAMILY
STAFF = {OP, SUP, ADM}
EVERYONE = STAFF | {PADM, WRK, FAM}
ROLES = sorted(EVERYONE)
OPEN = "open"  # no sign-in needed: anyone, anonymous included, gets past access checks

# (method, path) -> the roles that may, on their own tenant's object. Everyone else is refused.
MATRIX: dict[tuple[str, str], set | str] = {
    ("POST", "/api/v1/auth/token/"): OPEN,
    ("POST", "/api/v1/auth/token/refresh/"): OPEN,
    ("POST", "/api/v1/auth/logout/"): OPEN,  # the refresh token is the credential
    ("POST", "/api/v1/me/password/"): EVERYONE,
    ("GET", "/api/v1/me/"): EVERYONE,
    ("PATCH", "/api/v1/me/"): EVERYONE,  # one's own language
    ("POST", "/api/v1/ws-ticket/"): EVERYONE,
    ("GET", "/api/v1/events/"): EVERYONE,  # each sees their own (district, or addressed)
    ("GET", "/api/v1/service-types/"): EVERYONE,
    ("POST", "/api/v1/users/{id}/unlock/"): {SUP, ADM},  # a locked-out account, same district
    ("POST", "/api/v1/users/{id}/deactivate/"): {ADM},
    # The elder registry (docs/elders.md, "Who sees what").
    ("GET", "/api/v1/elders/"): EVERYONE,  # scoped: staff their district, family their own,
    # a worker the elders of live grants, a provider admin those their workers served
    ("POST", "/api/v1/elders/"): STAFF,
    ("GET", "/api/v1/elders/{id}/"): EVERYONE,
    ("PATCH", "/api/v1/elders/{id}/"): STAFF,
    ("GET", "/api/v1/elders/{id}/access-log/"): {SUP, ADM},
    ("GET", "/api/v1/elders/{id}/assessments/"): STAFF | {FAM},
    ("POST", "/api/v1/elders/{id}/assessments/"): STAFF,
    ("GET", "/api/v1/elders/{id}/care-needs/"): STAFF | {FAM, WRK},
    ("POST", "/api/v1/elders/{id}/care-needs/"): STAFF,
    ("GET", "/api/v1/elders/{id}/consents/"): STAFF | {FAM},
    ("POST", "/api/v1/elders/{id}/consents/"): STAFF,
    ("GET", "/api/v1/elders/{id}/contacts/"): STAFF | {FAM},
    ("POST", "/api/v1/elders/{id}/contacts/"): STAFF,
    ("GET", "/api/v1/elders/{id}/devices/"): STAFF | {FAM},
    ("POST", "/api/v1/elders/{id}/devices/"): STAFF,
    ("POST", "/api/v1/devices/{id}/rotate-secret/"): STAFF,  # a device of their district's elder
    ("GET", "/api/v1/elders/{id}/health/"): STAFF | {FAM, WRK},
    ("PUT", "/api/v1/elders/{id}/health/"): STAFF,
    ("POST", "/api/v1/elders/{id}/id-number/reveal/"): {SUP, ADM},
    ("POST", "/api/v1/elders/{id}/id-number/check/"): STAFF,  # the caller's last digits
    ("GET", "/api/v1/elders/features/"): STAFF,
    ("GET", "/api/v1/elders/lookup/"): STAFF,
    # The provider registry (docs/providers.md).
    ("GET", "/api/v1/providers/"): EVERYONE,  # scoped: staff their district, admins their own
    ("POST", "/api/v1/providers/"): {PADM, ADM},
    ("GET", "/api/v1/providers/features/"): EVERYONE,
    ("GET", "/api/v1/providers/{id}/"): STAFF | {PADM},
    ("PATCH", "/api/v1/providers/{id}/"): {PADM, ADM},
    ("GET", "/api/v1/providers/{id}/credit/"): STAFF | {PADM},
    ("POST", "/api/v1/providers/{id}/credit/"): {ADM},
    ("GET", "/api/v1/providers/{id}/sanctions/"): STAFF | {PADM},
    ("POST", "/api/v1/providers/{id}/sanctions/"): {ADM},
    ("GET", "/api/v1/providers/{id}/services/"): STAFF | {PADM},
    ("POST", "/api/v1/providers/{id}/services/"): {PADM, ADM},
    ("POST", "/api/v1/providers/{id}/status/"): {ADM},
    ("GET", "/api/v1/providers/{id}/workers/"): STAFF | {PADM},
    ("POST", "/api/v1/providers/{id}/workers/"): {PADM},
    ("GET", "/api/v1/workers/{id}/"): STAFF | {PADM, WRK},
    ("PATCH", "/api/v1/workers/{id}/"): {PADM},
    ("GET", "/api/v1/workers/{id}/certificates/"): STAFF | {PADM, WRK},
    ("POST", "/api/v1/workers/{id}/certificates/"): {PADM},
    ("POST", "/api/v1/workers/me/location/"): {WRK},
    ("POST", "/api/v1/workers/me/shift/"): {WRK},
    ("POST", "/api/v1/sanctions/{id}/appeal/"): {PADM},
    # The district's sanctions and blacklist with their history (docs/district.md), scoped
    # like the providers: district staff their district's, a provider's admin their own.
    ("GET", "/api/v1/sanctions/"): STAFF | {PADM},
    # The district's response figures and providers' quality (docs/district.md): counts and
    # scores, no elder data; supervisors and district administrators of the district.
    ("GET", "/api/v1/figures/responses/"): {SUP, ADM},
    ("GET", "/api/v1/figures/quality/"): {SUP, ADM},
    ("GET", "/api/v1/appeals/"): EVERYONE,  # scoped to the providers the caller sees
    ("GET", "/api/v1/provider-changes/"): EVERYONE,  # scoped like the providers
    ("GET", "/api/v1/provider-changes/{id}/"): STAFF | {PADM},
    ("POST", "/api/v1/provider-changes/{id}/decide/"): {ADM},
    ("POST", "/api/v1/appeals/{id}/decide/"): {ADM},
    # Dispatch (docs/dispatch.md).
    ("GET", "/api/v1/requests/"): EVERYONE,  # scoped: a worker's jobs, a family's elders'
    ("POST", "/api/v1/requests/"): STAFF | {FAM},
    ("GET", "/api/v1/requests/{id}/"): EVERYONE,
    ("POST", "/api/v1/requests/{id}/assign/"): STAFF,
    ("POST", "/api/v1/requests/{id}/assign-worker/"): {PADM},
    ("POST", "/api/v1/requests/{id}/cancel/"): STAFF | {FAM},
    ("POST", "/api/v1/requests/{id}/check-in/"): {WRK},
    ("POST", "/api/v1/requests/{id}/check-out/"): {WRK},
    ("POST", "/api/v1/requests/{id}/set-out/"): {WRK},
    ("POST", "/api/v1/requests/{id}/close/"): STAFF,
    ("GET", "/api/v1/requests/{id}/explain/"): STAFF,
    ("POST", "/api/v1/requests/{id}/fail/"): STAFF,
    ("POST", "/api/v1/requests/{id}/retry/"): STAFF,
    ("POST", "/api/v1/requests/{id}/feedback/"): STAFF | {FAM},
    ("GET", "/api/v1/offers/"): EVERYONE,  # scoped: a worker's own, a provider's whole jobs
    ("POST", "/api/v1/offers/{id}/accept/"): {WRK},
    ("POST", "/api/v1/offers/{id}/decline/"): {WRK},
    ("POST", "/api/v1/offers/{id}/opened/"): {WRK},  # the app opened it: no SMS needed
    ("GET", "/api/v1/alerts/"): STAFF,
    ("POST", "/api/v1/alerts/{id}/acknowledge/"): STAFF,
    ("POST", "/api/v1/alerts/{id}/resolve/"): STAFF,
    # The hotline (docs/telephony.md, "Hotline"): district staff answer it.
    ("GET", "/api/v1/calls/"): STAFF,
    ("POST", "/api/v1/calls/{id}/take/"): STAFF,
    ("GET", "/api/v1/call-backs/"): STAFF,
    ("POST", "/api/v1/call-backs/{id}/take/"): STAFF,
    ("POST", "/api/v1/call-backs/{id}/close/"): STAFF,
    ("GET", "/api/v1/complaints/"): STAFF,
    ("POST", "/api/v1/complaints/{id}/decide/"): {ADM},
    ("GET", "/api/v1/visits/exceptions/"): STAFF,
    ("POST", "/api/v1/visits/{id}/exception/"): {SUP, ADM},
    # Alarm devices post here (docs/alarms.md): the device's signature is the credential, so
    # no sign-in; unsigned, the matrix's empty call is refused as malformed (400), not as 401.
    ("POST", "/api/v1/alarms/"): OPEN,
    # District staff act on their district's alarms (docs/alarms.md, "Verify, then dispatch").
    ("GET", "/api/v1/alarms/queue/"): STAFF,
    ("POST", "/api/v1/alarms/{id}/acknowledge/"): STAFF,
    ("POST", "/api/v1/alarms/{id}/dispatch/"): STAFF,
    ("POST", "/api/v1/alarms/{id}/close/"): STAFF,
    # The operator calls the elder back (docs/alarms.md, "Calling back"): district staff.
    ("POST", "/api/v1/alarms/{id}/call-back/"): STAFF,
    # The district's alarm figures, counts and times without elder data (docs/alarms.md,
    # "Figures"): its staff, operators included.
    ("GET", "/api/v1/alarms/figures/"): STAFF,
    # Coverage of the 15-minute circle (docs/district.md, "Coverage"): the district's
    # supervisors and admins; the gap list shows elders as the elder list does.
    ("GET", "/api/v1/coverage/"): {SUP, ADM},
    ("GET", "/api/v1/coverage/gaps/"): {SUP, ADM},
    ("GET", "/api/v1/coverage/grid/"): {SUP, ADM},
    # Devices' problems (offline, maintenance tasks) of the district's elders (docs/alarms.md,
    # "Heartbeats"): district staff only.
    ("GET", "/api/v1/device-problems/"): STAFF,
    ("POST", "/api/v1/device-problems/{id}/close/"): STAFF,
    # Payers and settlement (docs/district.md, "Payers, entitlements and settlement"): the
    # district's admins set entitlements and issue statements; a provider's admins read their
    # own statements and exports (elders' names masked as their role says, access-logged).
    ("GET", "/api/v1/elders/{id}/entitlements/"): {SUP, ADM},
    ("POST", "/api/v1/elders/{id}/entitlements/"): {ADM},
    ("GET", "/api/v1/providers/{id}/statements/"): {ADM, PADM},
    ("POST", "/api/v1/providers/{id}/statements/"): {ADM},
    ("GET", "/api/v1/statements/{id}/"): {ADM, PADM},
    ("GET", "/api/v1/statements/{id}/csv/"): {ADM, PADM},
    ("GET", "/api/v1/statements/{id}/xlsx/"): {ADM, PADM},
}

# Which of a tenant's rows a path's {id} names, by the path's first segment.
ID_OF = {
    "elders": "elders",
    "devices": "devices",
    "providers": "providers",
    "workers": "workers",
    "requests": "requests",
    "offers": "offers",
    "alerts": "alerts",
    "complaints": "complaints",
    "sanctions": "sanctions",
    "appeals": "appeals",
    "visits": "visits",
    "users": "users",
    "provider-changes": "provider_changes",
    "calls": "calls",
    "call-backs": "call_backs",
    "alarms": "alarms",
    "device-problems": "device_problems",
    "statements": "statements",
}


def _operations(client) -> set[tuple[str, str]]:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    methods = {"get", "post", "put", "patch", "delete"}
    return {
        (method.upper(), path)
        for path, ops in schema["paths"].items()
        for method in ops
        if method in methods
    }


def _call(client, method: str, path: str, tenant) -> int:
    if "{id}" in path:
        kind = ID_OF[path.removeprefix("/api/v1/").split("/")[0]]
        path = path.replace("{id}", str(tenant.ids[kind]))
    send = getattr(client, method.lower())
    response = send(path, {}, format="json") if method != "GET" else send(path)
    return response


def _verdict(status: int) -> str:
    if status == 401:
        return "anonymous"
    if status in (403, 404):
        return "refused"
    assert status != 405, "the schema lists a method the view does not have"
    return "allowed"


def _other_ids(b) -> dict[str, set[int]]:
    """Every row of tenant B that a list could leak, by the list's path."""
    district = ServiceRequest.objects.get(pk=b.ids["requests"]).district_id
    requests = _pks(ServiceRequest.objects.filter(district_id=district))
    b_users = [u.pk for u in b.users.values()]
    events = Event.objects.filter(
        Q(district_id=district) | Q(recipients__overlap=b_users)
    ).values_list("pk", flat=True)
    elders = _pks(Elder.objects.filter(district_id=district))
    providers = _pks(Provider.objects.filter(district_id=district))
    return {
        "/api/v1/elders/": elders,
        "/api/v1/elders/features/": elders,
        "/api/v1/providers/": providers,
        "/api/v1/providers/features/": providers,
        "/api/v1/requests/": requests,
        "/api/v1/offers/": _pks(JobOffer.objects.filter(request_id__in=requests)),
        "/api/v1/alerts/": _pks(OperatorAlert.objects.filter(request_id__in=requests)),
        "/api/v1/complaints/": _pks(Complaint.objects.filter(request_id__in=requests)),
        "/api/v1/visits/exceptions/": _pks(Visit.objects.filter(request_id__in=requests)),
        "/api/v1/appeals/": _pks(Appeal.objects.filter(sanction__provider__district_id=district)),
        "/api/v1/sanctions/": _pks(Sanction.objects.filter(provider__district_id=district)),
        "/api/v1/events/": set(events),
        "/api/v1/calls/": _pks(Call.objects.filter(district_id=district)),
        "/api/v1/call-backs/": _pks(CallBack.objects.filter(district_id=district)),
        "/api/v1/alarms/queue/": _pks(Alarm.objects.filter(district_id=district)),
        "/api/v1/device-problems/": _pks(DeviceProblem.objects.filter(district_id=district)),
    }


def _pks(qs) -> set[int]:
    return set(qs.values_list("pk", flat=True))


def _listed_ids(body) -> set[int]:
    if isinstance(body, dict) and "results" in body:
        body = body["results"]
    if isinstance(body, dict) and body.get("type") == "FeatureCollection":
        body = body["features"]
    if isinstance(body, dict) and "events" in body:
        body = body["events"]
    return {row["id"] for row in body if isinstance(row, dict) and "id" in row}


@pytest.fixture
def tenants(catalogue):
    return build_tenant("a", 0), build_tenant("b", 100_000)


def test_every_endpoint_is_in_the_matrix(tenants):
    a, _ = tenants
    client = APIClient()
    client.force_authenticate(a.users[OP])
    in_schema = _operations(client)

    assert in_schema - set(MATRIX) == set(), "endpoints with no expected answers"
    assert set(MATRIX) - in_schema == set(), "answers for endpoints that are gone"


def test_the_access_matrix(tenants, capsys):
    a, b = tenants
    leaks = _other_ids(b)
    cells, wrong, cross_tenant_reads = 0, [], 0
    callers = [("anonymous", None), *[(role, a.users[role]) for role in ROLES]]
    for method, path in sorted(MATRIX):
        allowed = MATRIX[(method, path)]
        for role, user in callers:
            cache_forget()  # the matrix tests access, not how many writes an hour
            client = APIClient()
            if user is not None:
                client.force_authenticate(user)
            targets = [("own", a), ("other", b)] if "{id}" in path else [("own", a)]
            for whose, tenant in targets:
                response = _call(client, method, path, tenant)
                got = _verdict(response.status_code)
                if allowed == OPEN:
                    expected = "allowed"
                elif user is None:
                    expected = "anonymous"
                elif whose == "other":
                    expected = "refused"
                else:
                    expected = "allowed" if role in allowed else "refused"
                cells += 1
                if got != expected:
                    wrong.append(f"{method} {path} as {role} on {whose}: {response.status_code}")
                if (
                    method == "GET"
                    and whose == "other"
                    and response.status_code < 300
                    or method == "GET"
                    and path in leaks
                    and response.status_code == 200
                    and _listed_ids(response.json()) & leaks[path]
                ):
                    cross_tenant_reads += 1
    with capsys.disabled():  # the counts belong in CI's output
        print(
            f"\naccess matrix: {len(MATRIX)} endpoints x {len(callers)} callers, {cells} cells, "
            f"{len(wrong)} unexpected, {cross_tenant_reads} cross-tenant reads"
        )
    assert wrong == [], "\n".join(wrong)
    assert cross_tenant_reads == 0


def test_the_websocket_messages_by_role(tenants, capsys):
    a, _ = tenants
    here = {"type": "Point", "coordinates": [125.3245, 43.8868]}

    async def talk(user):
        ticket = await asyncio.to_thread(ws_ticket_issue, user=user) if user else None
        query = f"?ticket={ticket.token}" if ticket else ""
        socket = WebsocketCommunicator(application, f"/ws/{query}")
        connected, code = await socket.connect(timeout=5)
        if not connected:
            return {"connect": code}
        await socket.receive_json_from(timeout=5)
        replies = {}
        for kind, data in (("ping", {}), ("location", {"location": here})):
            await socket.send_json_to({"type": kind, "data": data})
            reply = await socket.receive_json_from(timeout=5)
            replies[kind] = reply["type"]
        await socket.disconnect()
        return replies

    async def everyone():  # one event loop: the channel layer's connections belong to it
        return {role: await talk(a.users[role]) for role in ROLES}, await talk(None)

    expected = {role: {"ping": "pong", "location": "error"} for role in ROLES}
    expected[WRK] = {"ping": "pong", "location": "location.ack"}
    got, anonymous = run_bounded(everyone())
    right = sum(r == expected[role] for role, r in got.items()) + (anonymous == {"connect": 4401})
    with capsys.disabled():
        print(
            f"\naccess matrix, WebSocket: 2 message types x {len(ROLES)} roles and anonymous, "
            f"{right} of {len(ROLES) + 1} callers as expected"
        )

    assert got == expected
    assert anonymous == {"connect": 4401}
