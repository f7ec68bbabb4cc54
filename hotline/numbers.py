"""Which district a hotline number belongs to, answered without the database when it is slow:
a copy in each process (refreshed every NUMBERS_FRESH_S) and one in the shared cache (Redis),
both filled from `HotlineNumber` whenever the database answers, the shared one dropped when a
number is edited."""

import time

import structlog
from django.core.cache import cache
from django.db import DatabaseError

from .bounded import database_bounded
from .models import HotlineNumber

log = structlog.get_logger(__name__)

CACHE_KEY = "hotline:numbers"
NUMBERS_FRESH_S = 30.0

_copy: dict[str, int] = {}
_copy_at = 0.0


def numbers_load() -> dict[str, int]:
    """Read the table (bounded) and refresh both copies."""
    global _copy, _copy_at
    with database_bounded():
        numbers = {str(n): d for n, d in HotlineNumber.objects.values_list("number", "district_id")}
    cache.set(CACHE_KEY, numbers, timeout=None)
    _copy, _copy_at = numbers, time.monotonic()
    return numbers


def numbers_forget() -> None:
    """A number was added, changed or removed: every process reads the table again (the
    shared copy at once, each process's own within NUMBERS_FRESH_S)."""
    global _copy_at
    cache.delete(CACHE_KEY)
    _copy_at = 0.0


def district_for_number(number: str) -> int | None:
    """The district whose hotline `number` (E.164, Twilio's `To`) is; None if it is none's."""
    global _copy, _copy_at
    if time.monotonic() - _copy_at < NUMBERS_FRESH_S:
        return _copy.get(number)
    shared = cache.get(CACHE_KEY)
    if isinstance(shared, dict):
        _copy, _copy_at = shared, time.monotonic()
        return _copy.get(number)
    try:
        return numbers_load().get(number)
    except DatabaseError:
        log.warning("hotline_numbers_unavailable", exc_info=True)
        return _copy.get(number)  # the last copy this process read, however old
