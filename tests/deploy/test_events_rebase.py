"""events_after_restore (backend/core/events.py, events_rebase_after_restore) with a writer in
flight: a transaction that had its id before the step and writes its event after must still
come after every restored event in the feed, or a client whose cursor is a restored event
never sees it."""

import threading
import time

import pytest
from django.db import connection, transaction

from backend.core.events import event_record, events_after, events_rebase_after_restore
from backend.core.models import Event
from tests import factories as f

AHEAD = 2**32  # as tests/deploy/test_restore.py: a dump from a cluster one epoch ahead


@pytest.mark.django_db(transaction=True)
def test_a_writer_in_flight_during_the_step_comes_after_every_restored_event(district):
    operator = f.UserFactory(role="operator", district=district)
    restored = [
        event_record(kind="t.restored", subject_type="t", subject_id=n, district_id=district.pk)
        for n in range(3)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Event._meta.db_table} SET xid = xid + %s", [AHEAD])
    last_seen = restored[-1].pk

    began, go = threading.Event(), threading.Event()
    written: dict[str, int] = {}

    def writer():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_current_xact_id()")  # its id, taken now
                began.set()
                assert go.wait(30)
                written["pk"] = event_record(
                    kind="t.late", subject_type="t", subject_id=9, district_id=district.pk
                ).pk
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert began.wait(30)
        with connection.cursor() as cursor:  # others write meanwhile: ids go on being taken
            cursor.execute("SELECT pg_current_xact_id()")
        assert events_rebase_after_restore() > 0
    finally:
        go.set()
        thread.join(30)

    late = Event.objects.get(pk=written["pk"])
    highest = max(
        Event.objects.filter(pk__in=[e.pk for e in restored]).values_list("xid", flat=True)
    )
    assert late.xid > highest

    # The client that had seen the last restored event gets the late one (once final).
    deadline = time.monotonic() + 60
    after = events_after(operator, after=last_seen, limit=10)
    while not after and time.monotonic() < deadline:
        time.sleep(0.1)
        after = events_after(operator, after=last_seen, limit=10)
    assert [e.pk for e in after] == [written["pk"]]
