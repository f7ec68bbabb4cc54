"""Twilio waits about 15 s for a webhook's answer and then plays the caller an error: the
hotline's database work is bounded well below that, and a webhook that runs out of time answers
without it."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction


@contextmanager
def database_bounded(timeout_ms: int | None = None) -> Iterator[None]:
    """One transaction in which every statement (and every wait for a lock) gives up after
    `timeout_ms` (by default ANXIN["HOTLINE_DB_TIMEOUT_MS"]): a DatabaseError the caller turns
    into an answer."""
    timeout = int(settings.ANXIN["HOTLINE_DB_TIMEOUT_MS"] if timeout_ms is None else timeout_ms)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(timeout)])
        yield
