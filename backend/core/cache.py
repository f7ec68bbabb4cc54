"""The shared cache (throttles, lockouts, one-time codes, token versions) on Redis.

Redis going away must not fail a request (an alarm, an accept): each call that cannot reach it
is logged and answered as if the cache were empty, so limits fail open for the outage and token
versions are read from the database (backend/accounts/tokens.py). After a failure the process
skips Redis for reads and counters for a few seconds (backend/core/breaker.py): a Redis that
hangs costs a request one socket timeout per process every few seconds, not one per call.
Writes and deletes are always tried (each bounded by its socket timeout): a token version
forgotten or a routing table dropped must reach Redis once it answers again."""

import os
import threading
from functools import cached_property
from typing import Any

import structlog
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis import Redis
from redis.exceptions import RedisError

from .breaker import cache as breaker

log = structlog.get_logger(__name__)


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's client builds a new redis.Redis (and its table of ~170 response callbacks) for
    every cache call: about half a millisecond of CPU each, four or five calls a request
    (token version, throttles). One client per connection pool serves every thread: redis-py's
    clients are thread-safe, and its pool reconnects in a forked child on its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Redis:
        # Django's own names for the pool and the client class; django-stubs leaves them out.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            made = self._client(connection_pool=pool)  # type: ignore[attr-defined]
            client = self._clients.setdefault(id(pool), made)
        return client


# The process's cache clients, one per configuration: Django makes a cache backend object per
# thread, each with a connection pool of its own, and every request runs in a thread of its
# own, so every request opened (and handshook) a new Redis connection. Keyed by the process as
# well, so a forked child never shares its parent's sockets.
_CLIENTS: dict[tuple[int, str], ReusedClientRedisCacheClient] = {}
_CLIENTS_LOCK = threading.Lock()


class ResilientRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> ReusedClientRedisCacheClient:
        # RedisCache's parsed LOCATION and OPTIONS; django-stubs leaves them out.
        servers, options = self._servers, self._options  # type: ignore[attr-defined]
        key = (os.getpid(), repr((servers, sorted(options.items()))))
        with _CLIENTS_LOCK:
            client = _CLIENTS.get(key)
            if client is None:
                client = _CLIENTS[key] = ReusedClientRedisCacheClient(servers, **options)
        return client

    def _failed(self, operation: str) -> None:
        log.warning("cache_unavailable", operation=operation, exc_info=True)
        breaker.trip()

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None):
        if not breaker.closed():
            return True
        try:
            return super().add(key, value, timeout, version)
        except RedisError:
            self._failed("add")
            return True

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        if not breaker.closed():
            return default
        try:
            return super().get(key, default, version)
        except RedisError:
            self._failed("get")
            return default

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None):
        try:
            super().set(key, value, timeout, version)
        except RedisError:
            self._failed("set")

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        try:
            return super().touch(key, timeout, version)
        except RedisError:
            self._failed("touch")
            return False

    def delete(self, key: Any, version: Any = None) -> bool:
        try:
            return super().delete(key, version)
        except RedisError:
            self._failed("delete")
            return False

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        if not breaker.closed():
            return delta
        try:
            return super().incr(key, delta, version)
        except RedisError:
            self._failed("incr")
            return delta

    def get_many(self, keys: Any, version: Any = None) -> dict[str, Any]:
        if not breaker.closed():
            return {}
        try:
            return super().get_many(keys, version)
        except RedisError:
            self._failed("get_many")
            return {}

    def has_key(self, key: Any, version: Any = None) -> bool:
        if not breaker.closed():
            return False
        try:
            return super().has_key(key, version)
        except RedisError:
            self._failed("has_key")
            return False
