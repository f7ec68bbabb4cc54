"""The shared cache reuses one Redis client per connection pool, in every thread."""

import threading

from django.core.cache import cache


def test_one_client_serves_every_call_and_thread():
    backend = cache._cache
    first = backend.get_client(write=True)
    cache.set("cache-client-probe", 1)
    assert cache.get("cache-client-probe") == 1
    seen = []

    def other_thread():
        cache.incr("cache-client-probe")
        seen.append(backend.get_client(write=True))

    threads = [threading.Thread(target=other_thread) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.get("cache-client-probe") == 5
    assert all(client is first for client in seen)
    assert backend.get_client() is first  # one server: reads use the same pool


def test_every_thread_shares_one_connection_pool():
    """Django makes a cache object per thread, and each request runs in a thread of its own:
    they must not each open (and handshake) their own Redis connection."""
    from django.core.cache import caches

    clients = []

    def in_a_new_thread():
        caches["default"].get("cache-client-probe")
        clients.append(caches["default"]._cache)

    threads = [threading.Thread(target=in_a_new_thread) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in clients}) == 1
    assert clients[0] is cache._cache
