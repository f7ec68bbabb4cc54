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
