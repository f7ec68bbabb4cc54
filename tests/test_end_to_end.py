"""The core loop against real processes: the web server (deploy/web, two processes) and a Celery
worker, both on the test database, real Redis and PostGIS. A worker's phone is played over HTTP
and WebSocket."""

import asyncio
import json
import time

import pytest
import requests
import websockets

from backend.accounts.models import Role
from backend.core.models import Event
from backend.telephony.models import Notification
from backend.telephony.templates import render
from tests import factories as f
from tests.stack import Stack, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

OFFER_TIMEOUT_S = 5  # the shortest a service type allows (meals wait 5 minutes in the catalogue)


@pytest.fixture
def stack(catalogue, tmp_path):
    from datetime import timedelta

    from backend.celery import app
    from dispatch.models import ServiceType

    ServiceType.objects.filter(code="meal").update(offer_timeout=timedelta(seconds=OFFER_TIMEOUT_S))
    app.control.purge()
    with running_stack(tmp_path) as s:
        yield s


class Phone:
    """A user's app: JWT over REST (staff add the code of their authenticator app), one-time
    ticket for the socket."""

    def __init__(self, stack: Stack, username: str, otp: str | None = None):
        self.stack = stack
        second_factor = {"otp": otp} if otp else {}
        token = requests.post(
            f"{stack.base}/api/v1/auth/token/",
            json={"username": username, "password": "pw", **second_factor},
            timeout=10,
        )
        assert token.status_code == 200, token.text
        self.headers = {"Authorization": f"Bearer {token.json()['access']}"}
        self.messages: asyncio.Queue = asyncio.Queue()

    def post(self, path: str, body: dict | None = None, **headers):
        return requests.post(
            f"{self.stack.base}{path}", json=body, headers={**self.headers, **headers}, timeout=10
        )

    async def connect(self, *, browser: bool = False):
        """A browser sends its page's Origin; a native Android or iOS client sends none."""
        ticket = await asyncio.to_thread(self.post, "/api/v1/ws-ticket/")
        assert ticket.status_code == 201, ticket.text
        url = f"ws://127.0.0.1:{self.stack.port}/ws/?ticket={ticket.json()['ticket']}"
        origin = f"http://127.0.0.1:{self.stack.port}" if browser else None
        self.socket = await websockets.connect(url, origin=origin)
        hello = json.loads(await asyncio.wait_for(self.socket.recv(), 5))
        assert hello["type"] == "hello"
        self.reader = asyncio.create_task(self._read())
        return ticket.json()["ticket"]

    async def _read(self):
        async for raw in self.socket:
            await self.messages.put(json.loads(raw))

    async def expect(self, kind: str, timeout: float = 15, **match) -> dict:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await asyncio.wait_for(self.messages.get(), left)
            except TimeoutError:
                break
            data = message.get("data", {})
            if message["type"] == kind and all(data.get(k) == v for k, v in match.items()):
                return message
        raise AssertionError(f"no {kind} {match} within {timeout} s")


def test_the_core_loop_over_real_processes(stack):
    district = f.DistrictFactory(code="220104000000", name="朝阳区")
    operator = f.UserFactory(role=Role.OPERATOR, district=district, username="op")
    authenticator = f.totp_device(operator)
    elder = f.ElderFactory(district=district, full_name="王秀英")
    contact = f.ContactFactory(elder=elder, priority=1)
    near = f.WorkerFactory(
        provider=f.ProviderFactory(district=district),
        user=f.UserFactory(role=Role.WORKER, username="near"),
    )
    far = f.WorkerFactory(
        provider=f.ProviderFactory(district=district),
        user=f.UserFactory(role=Role.WORKER, username="far"),
    )
    f.place_worker(near, f.offset(f.HOME, east_m=150))
    f.place_worker(far, f.offset(f.HOME, north_m=600))

    request_ids: list[int] = []
    code = f.totp_code(authenticator)

    async def scenario():
        desk = Phone(stack, "op", otp=code)
        phone_near, phone_far = Phone(stack, "near"), Phone(stack, "far")
        spent_ticket = await desk.connect(browser=True)
        await phone_near.connect()  # the workers' apps are native: no Origin header
        await phone_far.connect()

        # A spent ticket opens nothing.
        with pytest.raises(websockets.exceptions.InvalidStatus):
            url = f"ws://127.0.0.1:{stack.port}/ws/?ticket={spent_ticket}"
            async with websockets.connect(url, origin=f"http://127.0.0.1:{stack.port}") as ws:
                await ws.recv()

        # The operator logs a need; a retry with the same key makes nothing new.
        body = {"elder": elder.pk, "service_type": "meal", "notes": "soft food"}
        created = await asyncio.to_thread(
            desk.post, "/api/v1/requests/", body, **{"Idempotency-Key": "call-1"}
        )
        retried = await asyncio.to_thread(
            desk.post, "/api/v1/requests/", body, **{"Idempotency-Key": "call-1"}
        )
        assert created.status_code == 201, created.text
        assert retried.json()["id"] == created.json()["id"]
        request_id = created.json()["id"]
        request_ids.append(request_id)

        # The nearest worker gets the offer on the socket, without the elder's name or address.
        first = await phone_near.expect("offer.created", request=request_id)
        assert first["data"]["distance_m"] == pytest.approx(150, abs=15)
        assert "王秀英" not in json.dumps(first, ensure_ascii=False)
        assert elder.address not in json.dumps(first, ensure_ascii=False)

        # Nobody answers: the timeout moves it to the next candidate.
        started = time.monotonic()
        await phone_near.expect("offer.expired", timeout=OFFER_TIMEOUT_S + 15)
        second = await phone_far.expect("offer.created", request=request_id)
        assert time.monotonic() - started < OFFER_TIMEOUT_S + 15

        # The second worker accepts; a later accept on the expired offer is refused.
        accepted = await asyncio.to_thread(
            phone_far.post, f"/api/v1/offers/{second['data']['offer']}/accept/"
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["state"] == "assigned"
        late = await asyncio.to_thread(
            phone_near.post, f"/api/v1/offers/{first['data']['offer']}/accept/"
        )
        assert late.status_code == 409
        assert late.json()["error"]["current_state"] == "expired"
        again = await asyncio.to_thread(
            phone_far.post, f"/api/v1/offers/{second['data']['offer']}/accept/"
        )
        assert again.status_code == 409
        assert again.json()["error"]["request_state"] == "assigned"
        await desk.expect("request.assigned")

        # Check-in 700 m away is refused with the distance; at the door it opens the visit.
        away = {
            "location": {"type": "Point", "coordinates": list(f.offset(f.HOME, east_m=700).coords)}
        }
        refused = await asyncio.to_thread(
            phone_far.post, f"/api/v1/requests/{request_id}/check-in/", away
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "outside_geofence"
        assert refused.json()["error"]["distance_m"] == pytest.approx(700, abs=15)
        door = {
            "location": {"type": "Point", "coordinates": list(f.offset(f.HOME, north_m=25).coords)}
        }
        arrived = await asyncio.to_thread(
            phone_far.post, f"/api/v1/requests/{request_id}/check-in/", door
        )
        assert arrived.status_code == 201, arrived.text
        left = await asyncio.to_thread(
            phone_far.post, f"/api/v1/requests/{request_id}/check-out/", door
        )
        assert left.status_code == 200, left.text
        await desk.expect("request.completed")

        for phone in (desk, phone_near, phone_far):
            phone.reader.cancel()
            await phone.socket.close()

    asyncio.run(scenario())

    # The family's contact heard about arrival and departure, from the Celery worker, through
    # the notification log, in the platform's language.
    deadline = time.monotonic() + 15
    sms = []
    while time.monotonic() < deadline and len(sms) < 2:
        if stack.outbox.exists():
            lines = [json.loads(line) for line in stack.outbox.read_text().splitlines()]
            sms = [m for m in lines if m["kind"] == "sms" and m["to"] == str(contact.phone)]
        time.sleep(0.2)
    assert len(sms) == 2, stack.tail_logs()  # (a worker may have had an offer by SMS too)
    assert [m["template"] for m in sms] == ["sms.visit_check_in", "sms.visit_check_out"]
    assert [m["language"] for m in sms] == ["zh-hans"] * 2
    assert sms[0]["body"] == render("sms.visit_check_in", sms[0]["params"], "zh-hans")
    sent = Notification.objects.filter(recipient=str(contact.phone), state="sent")
    while time.monotonic() < deadline and sent.count() < 2:  # the row is updated just after
        time.sleep(0.1)
    assert sent.count() == 2

    # The audit names who did what: the operator logged it, the far worker took it.
    created = Event.objects.get(kind="request.created", subject_id=request_ids[0])
    assigned = Event.objects.get(kind="request.assigned", subject_id=request_ids[0])
    assert (created.actor_id, assigned.actor_id) == (operator.pk, far.user_id)
