import asyncio

import pytest
from channels.testing import WebsocketCommunicator

from backend.asgi import application
from backend.core.tickets import ws_ticket_issue
from tests import factories as f
from tests.conftest import run_bounded

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

    assert run_bounded(idle_then_ping()) == {"type": "pong"}


@pytest.mark.django_db(transaction=True)
def test_a_socket_without_a_valid_ticket_is_refused():
    async def attempt(query):
        socket = WebsocketCommunicator(application, f"/ws/{query}", headers=HEADERS)
        connected, code = await socket.connect()
        # The refused consumer still waits on its channel (a blocking read on Redis): end it
        # here, as the server would, rather than leave asyncio.run to cancel that read (which
        # hung a run for 120 s once, after the browser tests).
        await socket.disconnect()
        return connected, code

    async def both():  # one event loop: the channel layer's connections belong to it
        return await attempt(""), await attempt("?ticket=forged")

    assert run_bounded(both()) == ((False, 4401), (False, 4401))


def _connect_with(headers):
    user = f.UserFactory(role="worker")
    ticket = ws_ticket_issue(user=user)

    async def attempt():
        socket = WebsocketCommunicator(application, f"/ws/?ticket={ticket.token}", headers=headers)
        connected, code = await socket.connect()
        if connected:
            hello = await socket.receive_json_from()
            await socket.disconnect()
            return connected, hello["type"]
        return connected, code

    return run_bounded(attempt())


@pytest.mark.django_db(transaction=True)
def test_a_native_app_without_an_origin_header_connects_with_its_ticket():
    """Android and iOS WebSocket clients send no Origin; the ticket is the credential."""
    assert _connect_with([(b"host", b"localhost")]) == (True, "hello")


@pytest.mark.django_db(transaction=True)
def test_an_app_webview_sending_origin_null_connects_with_its_ticket():
    assert _connect_with([(b"origin", b"null"), (b"host", b"localhost")]) == (True, "hello")


@pytest.mark.django_db(transaction=True)
def test_a_foreign_web_origin_is_refused_even_with_a_valid_ticket():
    connected, _ = _connect_with([(b"origin", b"https://evil.example"), (b"host", b"localhost")])
    assert connected is False


@pytest.mark.django_db(transaction=True)
def test_a_browser_on_an_allowed_host_connects():
    assert _connect_with(HEADERS) == (True, "hello")
