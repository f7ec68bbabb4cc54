"""The web server as production runs it (deploy/web: uvicorn, several processes), on the test
database: it answers from every process and replaces one that dies; a request that finds no
database connection free in time gets 503 with Retry-After; a local client cannot choose its
address with X-Forwarded-For; and the intake benchmark runs against it end to end."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests
from django.db import connection

from tests import factories as f
from tests.stack import ROOT, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def children(pid: int) -> set[int]:
    """The server processes under uvicorn's supervisor `pid` (not multiprocessing's tracker)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    if b"resource_tracker" not in cmdline.read():
                        found.add(int(entry))
    return found


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path)
    yield s
    s.stop()


def test_every_web_process_answers_and_one_that_dies_is_replaced(stack, transactional_db):
    web = stack.start_web(workers=2)
    stack.wait_live()
    deadline = time.monotonic() + 30
    while len(children(web.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    before = children(web.pid)
    assert len(before) == 2, stack.tail_logs()

    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    answered = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if requests.get(f"{stack.base}/healthz/live", timeout=5).status_code == 200:
            answered += 1
        now = children(web.pid)
        if len(now) == 2 and victim not in now:
            break
        time.sleep(0.1)
    after = children(web.pid)
    assert victim not in after and len(after) == 2, stack.tail_logs()
    assert answered > 0, "the surviving process kept answering"
    # Both processes serve: many keep-alive-free requests land on each of them.
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(
                lambda _: requests.get(f"{stack.base}/healthz/live", timeout=5).status_code,
                range(200),
            )
        )
    assert codes == [200] * 200


def test_a_request_that_finds_no_connection_free_in_time_gets_503(stack, transactional_db):
    """One pooled connection, held by a request that waits on a row lock: the next request
    waits a second for a connection, then is told to come back."""
    worker = f.WorkerFactory()
    stack.start_web(workers=1, ANXIN_WEB_DB_POOL="1", DATABASE_POOL_TIMEOUT="1")
    stack.wait_live()
    token = requests.post(
        f"{stack.base}/api/v1/auth/token/",
        json={"username": worker.user.username, "password": "pw"},
        timeout=10,
    )
    assert token.status_code == 200, token.text
    auth = {"Authorization": f"Bearer {token.json()['access']}"}
    here = {"location": {"type": "Point", "coordinates": [125.3245, 43.8868]}}
    first = requests.post(f"{stack.base}/api/v1/workers/me/location/", json=here, headers=auth)
    assert first.status_code == 202, first.text

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as locker:
        locker.execute(
            "SELECT 1 FROM providers_workerposition WHERE worker_id = %s FOR UPDATE", [worker.pk]
        )
        blocked: dict = {}

        def post_location():
            blocked["response"] = requests.post(
                f"{stack.base}/api/v1/workers/me/location/",
                json=here,
                headers=auth,
                timeout=30,
            )

        holder = threading.Thread(target=post_location)
        holder.start()
        time.sleep(1.0)  # the holder has the only connection and waits on the row lock
        started = time.monotonic()
        refused = requests.get(
            f"{stack.base}/api/v1/workers/{worker.pk}/", headers=auth, timeout=30
        )
        waited = time.monotonic() - started
        locker.rollback()
    holder.join(30)

    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"] == "2"
    assert refused.json()["error"]["code"] == "unavailable"
    assert 0.9 <= waited < 10
    assert blocked["response"].status_code == 202, blocked["response"].text


def test_a_local_client_cannot_pick_its_address_with_x_forwarded_for(stack, transactional_db):
    """Sign-in attempts are limited per client address: uvicorn must not take one from the
    header (it trusts 127.0.0.1 unless told not to), or every attempt would be a new client."""
    stack.start_web(workers=1, ANXIN_THROTTLE_ANON="3/min")
    stack.wait_live()
    codes = [
        requests.post(
            f"{stack.base}/api/v1/auth/token/",
            json={"username": "nobody", "password": "wrong"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
            timeout=10,
        ).status_code
        for i in range(1, 5)
    ]
    assert codes == [401, 401, 401, 429]


def test_the_intake_benchmark_runs_against_the_stack(stack, catalogue):
    """A short run of `manage.py benchmark_intake`: requests created, every one offered on a
    worker's socket, and its figures printed; the benchmark district is gone afterwards."""
    from backend.accounts.models import District

    stack.start_web(workers=2)
    stack.start_worker()
    stack.wait_live()
    run = subprocess.run(
        [sys.executable, "manage.py", "benchmark_intake", "--url", stack.base]
        + ["--clients", "2", "--duration", "2", "--warmup", "0.5", "--workers", "3"]
        + ["--elders", "20", "--settle", "20"],
        cwd=ROOT,
        env={**stack.env(), "ANXIN_BENCHMARK_ALLOWED": "1"},
        capture_output=True,
        text=True,
        timeout=150,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out + stack.tail_logs()
    created = re.search(r"created\s+(\d+) of (\d+)\s+\(([\d.]+) requests/s\)", out)
    assert created and int(created[1]) == int(created[2]) > 0, out
    seen = re.search(r"seen (\d+), missing (\d+)", out)
    assert seen and int(seen[1]) == int(created[1]) and seen[2] == "0", out
    assert re.search(r"to offer\s+p50 \d+ ms\s+p99 \d+ ms", out), out
    assert "errors" not in out, out
    assert not District.objects.filter(code="229998000000").exists()
