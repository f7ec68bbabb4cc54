"""Stop asking a Redis that does not answer, for a few seconds, in this process.

A Redis that refuses connections fails each call at once; one that hangs (a network partition,
a stopped process, a full machine) makes each call wait for its socket timeout. The cache and
the channel layer's pushes are both optional to a request (the cache fails open, a push is a
hint the feed and the sweeps back), so after such a failure they skip Redis for OPEN_FOR_S and
a request pays one timeout per process per OPEN_FOR_S, not one per call.
"""

import threading
import time

import structlog

log = structlog.get_logger(__name__)

OPEN_FOR_S = 5.0


class Breaker:
    def __init__(self, name: str, open_for_s: float = OPEN_FOR_S):
        self.name = name
        self.open_for_s = open_for_s
        self._open_until = 0.0
        self._lock = threading.Lock()

    def closed(self) -> bool:
        """True if calls may go to Redis now."""
        return time.monotonic() >= self._open_until

    def trip(self) -> None:
        """A call failed the way an unreachable Redis fails: skip it for a while."""
        with self._lock:
            already_open = not self.closed()
            self._open_until = time.monotonic() + self.open_for_s
        if not already_open:
            log.warning("redis_breaker_open", breaker=self.name, for_s=self.open_for_s)

    def reset(self) -> None:
        self._open_until = 0.0


cache = Breaker("cache")
push = Breaker("push")
