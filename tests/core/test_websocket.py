import asyncio

import pytest
from channels.testing import WebsocketCommunicator

from backend.asgi import application
from backend.core.tickets import ws_ticket_issue
from tests import factories as f

HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_an_idle_socket_stays_open_past_the_channel_layers_blocking_pop():
    """Regression: with redis-py 8's default 5 s read timeout, the layer's 5 s blocking pop
    raised and the server closed every idle socket with 1011."""
    user = f.UserFactory(role="operator")
    ticket = ws_ticket_issue(user=user)

    async def idle_then_ping():
        socket = WebsocketCommunicator(application, f"/ws/?ticket={ticket.token}", headers=HEADERS)
        connected, _ = await socket.connect()
        assert connected
        await socket.receive_json_from()
        await asyncio.sleep(7)
        await socket.send_json_to({"type": "ping"})
        reply = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return reply

    assert asyncio.run(idle_then_ping()) == {"type": "pong"}


@pytest.mark.django_db(transaction=True)
def test_a_socket_without_a_valid_ticket_is_refused():
    async def attempt(query):
        socket = WebsocketCommunicator(application, f"/ws/{query}", headers=HEADERS)
        connected, code = await socket.connect()
        return connected, code

    assert asyncio.run(attempt("")) == (False, 4401)
    assert asyncio.run(attempt("?ticket=forged")) == (False, 4401)
