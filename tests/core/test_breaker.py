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
            assert cache.incr("n") == 1
        later = time.monotonic() - later

        # Writes and deletes are still tried: a token version forgotten must reach Redis
        written = time.monotonic()
        cache.set("version", 2)
        cache.delete("version")
        written = time.monotonic() - written

    assert first >= 0.3
    assert later < 0.1  # 40 reads and counts skipped, not 40 timeouts
    assert written >= 0.6
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

    events.push_to_groups(["district.1"], {"id": 1, "type": "alarm.raised"})
    events.push_to_groups(["district.1"], {"id": 2, "type": "alarm.raised"})

    assert len(calls) == 1
    assert not breaker.push.closed()


def test_the_breaker_closes_by_itself_after_its_time():
    b = breaker.Breaker("t", open_for_s=0.05)
    b.trip()
    assert not b.closed()
    time.sleep(0.06)
    assert b.closed()


def test_a_session_end_is_sent_even_while_the_push_breaker_is_open(monkeypatch):
    sent = []
    monkeypatch.setattr(events, "run_push", lambda coroutine, *, timeout: sent.append(coroutine))
    breaker.push.trip()

    events.layer_send(["user.1"], {"type": "session.end"}, user_id=1)
    events.push_to_groups(["district.1"], {"id": 1, "type": "alarm.raised"})

    assert len(sent) == 1  # the command, not the hint
    sent[0].close()


def test_throttles_write_no_history_while_the_cache_breaker_is_open(monkeypatch, settings):
    from django.contrib.auth.models import AnonymousUser
    from django.core.cache import cache
    from rest_framework.test import APIRequestFactory

    from backend.accounts.throttles import AnonThrottle

    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "anon": "1000/min"},
    }
    writes = []
    monkeypatch.setattr(cache, "set", lambda *a, **k: writes.append(a))
    request = APIRequestFactory().get("/api/v1/anything/")
    request.user = AnonymousUser()

    assert AnonThrottle().allow_request(request, None)
    assert writes, "the throttle writes its history"
    writes.clear()
    breaker.cache.trip()

    assert AnonThrottle().allow_request(request, None)
    assert writes == []
