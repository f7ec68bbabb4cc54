"""A queue nobody consumes is named at start-up (manage.py check_queues, run by deploy/up) and in
/healthz's detail, against real Celery workers on this run's queues."""

import io
import time

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client

from backend.core.health import CELERY_LISTEN_S
from backend.core.queues import queue_consumers, routed_queues
from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

TOKEN = "monitor-token-0123456789-abcdefghijklmnop"


@pytest.fixture
def stack(db, tmp_path):
    stack = Stack(tmp_path)
    try:
        yield stack
    finally:
        stack.stop()


def wait_until_consumed(*queues: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        heard = queue_consumers(queues, timeout=0.5)
        if set(queues) <= set().union(*heard.values()):
            return
        time.sleep(0.2)
    raise AssertionError(f"no worker took {queues} within {timeout} s")


@pytest.fixture
def monitor(settings):
    settings.ANXIN_HEALTH_TOKEN = TOKEN
    return Client(headers={"X-Health-Token": TOKEN})


def test_a_queue_without_a_worker_is_named_until_a_worker_takes_it(stack, monitor):
    queues = settings.ANXIN_QUEUES
    # Given workers on every queue but bulk
    stack.start_worker("alarm", "urgent", "routine", concurrency=1)
    stack.start_worker("notify", "device", concurrency=1)
    wait_until_consumed(*(queues[lane] for lane in queues if lane != "bulk"))

    # When the start-up check runs
    told = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("check_queues", wait=1, stderr=told)

    # Then it names the bulk queue, and only that one, and so does /healthz
    assert f"1 of {len(routed_queues())} queues have no consumer" in str(refused.value)
    assert told.getvalue().count("NO CONSUMER") == 1
    assert f"NO CONSUMER for queue {queues['bulk']}:" in told.getvalue()
    response = monitor.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["celery"]["status"] == "up" and len(checks["celery"]["workers"]) == 2
    assert checks["queues"]["error"] == f"no worker consumes {queues['bulk']}"

    # When a bulk worker starts (prefork, as deploy/up runs it)
    stack.start_worker("bulk", pool="prefork", concurrency=1)
    said = io.StringIO()
    call_command("check_queues", wait=30, stdout=said)

    # Then the check passes, naming each queue's worker, and /healthz answers at once
    lines = dict(line.split(": ") for line in said.getvalue().splitlines())
    assert set(lines) == set(queues.values())
    assert lines[queues["bulk"]].startswith("e2e-celery-bulk-")
    checks = monitor.get("/healthz").json()["checks"]
    assert checks["queues"]["status"] == "up", checks
    assert checks["celery"]["ms"] < CELERY_LISTEN_S * 1000  # it stopped listening once all were in
