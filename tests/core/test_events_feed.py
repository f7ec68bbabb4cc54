import threading
import time

import pytest
from django.db import connection, transaction

from backend.core.events import event_record
from tests import factories as f
from tests.conftest import api


def feed(user, after=None):
    url = "/api/v1/events/" + (f"?after={after}" if after else "")
    body = api(user).get(url).json()
    return [e["id"] for e in body["events"]], body["next_after"]


def feed_once_settled(user, expect_any: list, seconds: float = 90):
    """The feed as a client polls it: any open transaction in the cluster (autovacuum, another
    process, a long test of another xdist worker) may hold the watermark back for a while, so
    wait until `expect_any` shows up for one caller that sees it, then read the others (the
    watermark is global, so it has passed for them too)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen = feed(user)[0]
        if set(expect_any) <= set(seen):
            return seen
        time.sleep(0.1)
    return feed(user)[0]


@pytest.mark.django_db(transaction=True)
def test_an_event_that_commits_late_is_not_skipped(district):
    """Transaction 1 writes first but commits last: a feed by bare id would hand out a cursor
    past it while it was in flight, and the client would never see it."""
    operator = f.UserFactory(role="operator", district=district)
    first_written = threading.Event()
    let_first_commit = threading.Event()
    ids = {}

    def slow_writer():
        with transaction.atomic():
            ids["slow"] = event_record(
                kind="t.slow", subject_type="t", subject_id=1, district_id=district.pk
            ).pk
            first_written.set()
            let_first_commit.wait(10)
        connection.close()

    slow = threading.Thread(target=slow_writer)
    slow.start()
    assert first_written.wait(10)
    with transaction.atomic():
        ids["fast"] = event_record(
            kind="t.fast", subject_type="t", subject_id=2, district_id=district.pk
        ).pk
    assert ids["fast"] > ids["slow"]

    seen_early, cursor = feed(operator)
    let_first_commit.set()
    slow.join(10)
    # Any transaction in the cluster holds the watermark back (autovacuum's ANALYZE, another
    # test's process): the feed may lag, so poll as a client would, but it must never skip.
    seen_late: list[int] = []
    deadline = time.monotonic() + 90
    while len(seen_early + seen_late) < 2 and time.monotonic() < deadline:
        more, next_cursor = feed(operator, after=cursor)
        seen_late += more
        cursor = next_cursor or cursor
        time.sleep(0.1)

    assert ids["slow"] not in seen_early and ids["fast"] not in seen_early
    assert sorted(seen_early + seen_late) == sorted([ids["slow"], ids["fast"]])


@pytest.mark.django_db(transaction=True)
def test_each_caller_sees_only_their_own_events(district):
    elder = f.ElderFactory(district=district)
    family = f.UserFactory(role="family")
    f.ContactFactory(elder=elder, user=family)
    stranger_family = f.UserFactory(role="family")
    other_district_operator = f.UserFactory(role="operator")
    operator = f.UserFactory(role="operator", district=district)
    mine = event_record(
        kind="request.created",
        subject_type="request",
        subject_id=1,
        district_id=district.pk,
        recipients=[family.pk],
    ).pk

    assert feed_once_settled(operator, [mine]) == [mine]
    assert feed(family)[0] == [mine]
    assert feed(stranger_family)[0] == []
    assert feed(other_district_operator)[0] == []


@pytest.mark.django_db
def test_the_feed_needs_authentication():
    assert api().get("/api/v1/events/").status_code == 401
