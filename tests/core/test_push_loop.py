"""Pushes from synchronous code share one event loop per process, and so one channel-layer
connection pool: outside the ASGI server (a Celery task, a command) the process's push loop, a
forked child (a Celery prefork child) starting its own; inside the server, the server's loop.
The bound on a hung layer is in tests/test_broker_outage.py."""

import asyncio
import copy
import multiprocessing
import os
import time
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from backend.core import events, push_loop

PUSHES = 20


class CountingLayer(RedisChannelLayer):
    """The real Redis layer, counting the connection pools it opens and the loops it sends on."""

    def __init__(self, **config):
        super().__init__(**config)
        self.pools_opened = 0
        self.send_loops: list[asyncio.AbstractEventLoop] = []

    def create_pool(self, index):
        self.pools_opened += 1
        return super().create_pool(index)

    async def group_send(self, group, message):
        self.send_loops.append(asyncio.get_running_loop())
        await super().group_send(group, message)


@pytest.fixture
def layer_config():
    config = copy.deepcopy(settings.CHANNEL_LAYERS["default"]["CONFIG"])
    config["prefix"] = f"{config['prefix']}-push-test-{uuid.uuid4().hex[:8]}"
    return config


@pytest.fixture
def listener(layer_config):
    """Another process's view of the same Redis: a plain channel in the test's groups."""
    layer = RedisChannelLayer(**layer_config)
    push_loop.run_push(layer.group_add("test.district", "test.inbox"), timeout=5)
    yield layer
    push_loop.run_push(layer.flush(), timeout=5)


def test_pushes_from_synchronous_code_share_one_loop_and_one_connection_pool(
    monkeypatch, layer_config, listener
):
    layer = CountingLayer(**layer_config)
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)

    for event_id in range(PUSHES):
        events.push_to_groups(["test.district", "test.user"], {"id": event_id})

    assert layer.pools_opened == 1
    assert len(layer.send_loops) == 2 * PUSHES
    assert {id(loop) for loop in layer.send_loops} == {id(push_loop.push_loop())}
    received: list[dict] = []

    async def receive_all() -> None:
        for _ in range(PUSHES):
            received.append(await listener.receive("test.inbox"))

    push_loop.run_push(receive_all(), timeout=5)
    assert [m["envelope"]["id"] for m in received] == list(range(PUSHES))


def _push_in_child(results) -> None:
    """In a forked child: push through a layer that records where the send ran."""
    inherited = push_loop._current
    sent: list[tuple[str, int]] = []

    class Recording:
        async def group_send(self, group, message):
            sent.append((group, id(asyncio.get_running_loop())))

    events.get_channel_layer = lambda: Recording()
    started = time.monotonic()
    events.push_to_groups(["user.1"], {"id": 1})
    results.put(
        {
            "inherited_a_loop": inherited is not None,
            "sent": len(sent),
            "seconds": time.monotonic() - started,
            "loop_is_its_own": push_loop._current is not None
            and push_loop._current.pid == os.getpid()
            and [loop for _, loop in sent] == [id(push_loop._current.loop)],
        }
    )


@pytest.mark.timeout(30)
def test_a_forked_child_pushes_on_a_loop_of_its_own(monkeypatch):
    # Given the parent's push loop is running
    monkeypatch.setattr(events, "get_channel_layer", lambda: None)
    parent_loop = push_loop.push_loop()
    assert parent_loop.is_running()

    # When a forked child pushes
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    child = fork.Process(target=_push_in_child, args=(results,))
    child.start()
    outcome = results.get(timeout=20)
    child.join(10)

    # Then it forgot the parent's loop and pushed at once on one of its own
    assert outcome == {
        "inherited_a_loop": False,
        "sent": 1,
        "seconds": pytest.approx(0, abs=0.5),
        "loop_is_its_own": True,
    }
    assert push_loop.push_loop() is parent_loop


def test_a_push_from_inside_an_event_loop_is_refused_at_once_not_blocking_it(monkeypatch, caplog):
    layer = CountingLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)

    async def from_async_code() -> float:
        started = time.monotonic()
        events.push_to_groups(["test.district"], {"id": 1})
        return time.monotonic() - started

    assert asyncio.run(from_async_code()) < 0.1
    assert layer.send_loops == []
    assert "push_failed" in caplog.text


def test_inside_the_asgi_server_a_request_threads_pushes_run_on_the_servers_loop(
    monkeypatch, layer_config
):
    layer = CountingLayer(**layer_config)
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)

    async def server() -> asyncio.AbstractEventLoop:
        def request_thread() -> None:  # as Django's ASGI handler runs a view and its commit
            for event_id in range(5):
                events.push_to_groups(["test.district"], {"id": event_id})

        await sync_to_async(request_thread)()
        return asyncio.get_running_loop()

    server_loop = asyncio.run(server())

    assert [id(loop) for loop in layer.send_loops] == [id(server_loop)] * 5
    assert layer.pools_opened == 1
    assert server_loop is not push_loop.push_loop()
