"""How often something may be tried, counted in Django's cache (`CACHES["default"]`): with a
shared cache (Redis) the count holds across every server process.

Fixed windows: a counter per (limit, subject, window), created with `add` and raised with
`incr`, both atomic in Redis and in the local-memory cache.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.translation import gettext as _

from backend.core.errors import DomainError

KEY_PREFIX = "anxin:limits"


@dataclass(frozen=True)
class Limit:
    name: str
    attempts: int
    window_s: int


class TooManyAttempts(DomainError):
    """429: tried too often; `Retry-After` says when the window ends."""

    status_code = 429
    default_code = "too_many_attempts"

    def __init__(self, message: str, *, wait: int) -> None:
        super().__init__(message, retry_after=wait)
        self.wait = wait  # DRF's exception handler turns it into the Retry-After header


def _count(key: str, timeout: int) -> int:
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout)
        return 1


def limits_hit(hits: Iterable[tuple[Limit, object]], *, what: str) -> None:
    """Count one attempt against each (limit, subject); raise TooManyAttempts if any is over.
    Every counter is raised, so a refused attempt counts too."""
    now = time.time()
    wait = 0
    for limit, subject in hits:
        window = int(now // limit.window_s)
        key = f"{KEY_PREFIX}:{limit.name}:{subject}:{window}"
        if _count(key, limit.window_s + 5) > limit.attempts:
            wait = max(wait, int((window + 1) * limit.window_s - now) + 1)
    if wait:
        raise TooManyAttempts(
            _("Too many attempts to %(action)s; try again later.") % {"action": what}, wait=wait
        )
