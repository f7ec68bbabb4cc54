"""A Redis that hangs costs one timeout per process every few seconds, not one per call: the
cache answers as if empty and the push is skipped (the feed and the sweeps back it)."""

import socket
import threading
import time

import pytest
from django.core.cache import caches
from django.test import override_settings

from backend.core import breaker, events


@pytest.fixture
def hung_redis():
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_hung_cache_costs_one_timeout_then_is_skipped(hung_redis, settings):
    hung = {
        **settings.CACHES["default"],
        "LOCATION": f"{hung_redis}/0",
        "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
    }
    with override_settings(CACHES={"default": settings.CACHES["default"], "hung": hung}):
        cache = caches["hung"]
        first = time.monotonic()
        assert cache.get("k", "empty") == "empty"
        first = time.monotonic() - first
        later = time.monotonic()
        for _ in range(20):
            assert cache.get("k", "empty") == "empty"
            cache.set("k", 1)
        later = time.monotonic() - later

    assert first >= 0.3
    assert later < 0.1  # 40 calls skipped, not 40 timeouts
    assert not breaker.cache.closed()
    breaker.cache.reset()
    assert breaker.cache.closed()


def test_a_push_that_timed_out_opens_the_breaker_and_the_next_push_is_skipped(monkeypatch):
    calls = []

    def hangs(coroutine, *, timeout):
        calls.append(timeout)
        coroutine.close()
        raise TimeoutError

    monkeypatch.setattr(events, "run_push", hangs)

    events.layer_send(["district.1"], {"type": "event.push"}, event_id=1)
    events.layer_send(["district.1"], {"type": "event.push"}, event_id=2)

    assert len(calls) == 1
    assert not breaker.push.closed()


def test_the_breaker_closes_by_itself_after_its_time():
    b = breaker.Breaker("t", open_for_s=0.05)
    b.trip()
    assert not b.closed()
    time.sleep(0.06)
    assert b.closed()
