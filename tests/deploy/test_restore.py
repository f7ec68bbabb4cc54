"""Backups: a dump restored into a fresh database, the platform's web process started on it, and
the events feed going on from the last event a client saw (docs/production.md, Backups).

A dump does not carry the cluster's transaction counter, which orders the feed: restored into
another cluster that is behind the old one, the feed would stop for every client. Restoring into
this test's own cluster cannot show that, so the restored events' transaction ids are moved a
whole 32-bit epoch up first, as a cluster that is behind would leave them; then the restore does
what docs/production.md tells an operator to do, `manage.py events_after_restore`."""

import os
import subprocess
import sys
import time

import psycopg
import pytest
import requests
from django.db import connection

from backend.core.models import Event
from tests import factories as f
from tests.conftest import api
from tests.stack import ROOT, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

AHEAD = 2**32  # an old cluster one whole epoch of transaction ids ahead of the new one


def libpq(db: dict, name: str | None = None) -> tuple[dict[str, str], list[str]]:
    """The environment and the connection arguments of pg_dump / pg_restore for `db`."""
    env = {**os.environ, "PGPASSWORD": db["PASSWORD"]}
    args = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]
    return env, [*args, "-d", name or db["NAME"]]


def admin_sql(db: dict, sql: str, name: str = "postgres") -> None:
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"],
        dbname=name,
        autocommit=True,
    ) as conn:
        conn.execute(sql)


@pytest.fixture
def restored(tmp_path):
    """The name of a fresh database to restore into, dropped afterwards."""
    db = connection.settings_dict
    name = f"{db['NAME']}_restored"
    admin_sql(db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_sql(db, f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    yield name
    admin_sql(db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def feed(base: str, headers: dict, after: int | None) -> list[dict]:
    url = f"{base}/api/v1/events/" + (f"?after={after}" if after else "")
    response = requests.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["events"]


def settled(read, *, at_least: int, seconds: float = 60) -> list[dict]:
    """The feed as a client polls it: any open transaction in the cluster (a long test of another
    xdist worker too) holds the commit-safe watermark back (tests/core/test_events_feed.py)."""
    deadline = time.monotonic() + seconds
    events = read()
    while len(events) < at_least and time.monotonic() < deadline:
        time.sleep(0.1)
        events = read()
    return events


@pytest.mark.django_db(transaction=True)
def test_restored_dump_serves_and_its_events_feed_goes_on(catalogue, restored, tmp_path):
    from backend.celery import app

    # Given a district at work: three intakes and what followed them, seen by a console
    district = f.DistrictFactory(code="220104000000", name="朝阳区")
    operator = f.UserFactory(role="operator", district=district)
    device = f.totp_device(operator)
    elder = f.ElderFactory(district=district)
    for _ in range(3):
        made = api(operator).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": "meal"}, format="json"
        )
        assert made.status_code == 201, made.content
    seen = settled(lambda: api(operator).get("/api/v1/events/").json()["events"], at_least=3)
    last_seen = seen[-1]["id"]

    # When it is dumped, restored into a fresh database (its stored transaction ids ahead of
    # the new cluster's), and the restore's own step has run
    env, source = libpq(connection.settings_dict)
    dump = tmp_path / "anxin.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), *source], env=env, check=True, timeout=60)
    _, target = libpq(connection.settings_dict, restored)
    subprocess.run(
        ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", *target, str(dump)],
        env=env,
        check=True,
        timeout=60,
    )
    admin_sql(
        connection.settings_dict,
        f"UPDATE {Event._meta.db_table} SET xid = xid + {AHEAD}",
        name=restored,
    )
    stack = Stack(tmp_path, env={"DATABASE_NAME": restored})
    step = subprocess.run(
        [sys.executable, "manage.py", "events_after_restore"],
        cwd=ROOT,
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert step.returncode == 0, step.stderr
    assert "moved down" in step.stdout

    app.control.purge()
    stack.start_web(workers=1)
    try:
        stack.wait_live()
        token = requests.post(
            f"{stack.base}/api/v1/auth/token/",
            json={"username": operator.username, "password": "pw", "otp": f.totp_code(device)},
            timeout=10,
        )
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access']}"}

        # Then the platform serves what was restored, in the order the console saw it
        restored_feed = settled(lambda: feed(stack.base, headers, None), at_least=len(seen))
        assert [e["id"] for e in restored_feed] == [e["id"] for e in seen]
        assert feed(stack.base, headers, last_seen) == []

        # And a change made now reaches the console after the last event it had seen
        made = requests.post(
            f"{stack.base}/api/v1/requests/",
            json={"elder": elder.pk, "service_type": "meal"},
            headers={**headers, "Idempotency-Key": "restore-test-intake"},
            timeout=10,
        )
        assert made.status_code == 201, made.text
        new = settled(lambda: feed(stack.base, headers, last_seen), at_least=1)
        assert new, stack.tail_logs()
        assert all(e["id"] > last_seen for e in new)
        assert {"type": "request.created", "id": made.json()["id"]} in [
            {"type": e["type"], "id": e["data"]["subject"]["id"]} for e in new
        ]
    finally:
        stack.stop()
        app.control.purge()
