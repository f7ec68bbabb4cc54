"""The screen pop: an operator's socket hears `call.ringing`, with who the number matched,
within a second of Twilio's request."""

import asyncio
import time

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from backend.asgi import application
from backend.core.tickets import ws_ticket_issue
from tests import factories as f
from tests.conftest import run_bounded
from tests.hotline.script import ScriptedCall, client_sender

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


def test_call_ringing_reaches_the_districts_operators_within_a_second(hotline, district):
    operator = f.UserFactory(role="operator", district=district)
    elsewhere = f.UserFactory(
        role="operator", district=f.DistrictFactory(code="220102000000", name="南关区")
    )
    elder = f.ElderFactory(district=district, full_name="王秀英")
    tickets = [ws_ticket_issue(user=operator).token, ws_ticket_issue(user=elsewhere).token]
    call = ScriptedCall(client_sender(Client()), caller=str(elder.phone))

    async def scenario():
        sockets = []
        for ticket in tickets:
            socket = WebsocketCommunicator(application, f"/ws/?ticket={ticket}")
            connected, _ = await socket.connect(timeout=5)
            assert connected
            await socket.receive_json_from(timeout=5)  # hello
            sockets.append(socket)
        started = time.monotonic()
        await asyncio.to_thread(call.dial)
        ringing = await sockets[0].receive_json_from(timeout=1)
        took = time.monotonic() - started
        nothing_elsewhere = await sockets[1].receive_nothing(timeout=0.3)
        for socket in sockets:
            await socket.disconnect()
        return ringing, took, nothing_elsewhere

    ringing, took, nothing_elsewhere = run_bounded(scenario())

    assert ringing["type"] == "call.ringing"
    assert took < 1, took
    [card] = ringing["data"]["elders"]
    assert (card["id"], card["full_name"], card["district"], card["matched_on"]) == (
        elder.pk,
        "王秀英",
        district.pk,
        "mobile",
    )
    assert "birth_date" not in card
    assert ringing["data"]["from"] == str(elder.phone)
    assert nothing_elsewhere
