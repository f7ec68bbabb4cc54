"""A Redis outage must not stop the platform: intake answers 201 for what it committed and leaves
the lost enqueue to the sweeper, every API error is JSON, the worker rides out a broker restart,
and deploy/up restarts a process that dies instead of stopping the rest."""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable

import pytest
import redis
import requests
from django.conf import settings
from kombu.exceptions import OperationalError
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from backend.accounts.models import Role
from backend.core import events
from backend.core.side_effects import enqueue_after_commit
from tests import factories as f
from tests.stack import ROOT, RedisServer, running_stack, wait_for

INTAKE_BUDGET_S = 3.0
SHORT_BACK_OFF = {"SUPERVISE_BACKOFF_MIN_MS": "100", "SUPERVISE_BACKOFF_MAX_MS": "400"}


@pytest.fixture
def broker(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stack(catalogue, tmp_path, broker):
    with running_stack(tmp_path, redis_url=broker.url) as s:
        yield s


@pytest.mark.e2e
@pytest.mark.timeout(90)
# The sweep is sent to the real worker on purpose: this test process runs tasks eagerly.
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_intake_and_the_worker_ride_out_a_broker_restart(stack, broker):
    from backend.celery import app
    from dispatch.models import RequestState, ServiceRequest

    district = f.DistrictFactory(code="220104000000", name="朝阳区")
    operator = f.UserFactory(role=Role.OPERATOR, district=district, username="op")
    authenticator = f.totp_device(operator)
    elder = f.ElderFactory(district=district)
    worker = f.WorkerFactory(provider=f.ProviderFactory(district=district))
    f.place_worker(worker, f.offset(f.HOME, east_m=150))
    token = requests.post(
        f"{stack.base}/api/v1/auth/token/",
        json={"username": "op", "password": "pw", "otp": f.totp_code(authenticator)},
        timeout=10,
    ).json()["access"]
    celery_db = redis.Redis.from_url(f"{broker.url}/{settings.REDIS_DB_CELERY}")
    worker_process = stack.procs["celery"]

    def log_a_need(key: str) -> requests.Response:
        return requests.post(
            f"{stack.base}/api/v1/requests/",
            json={"elder": elder.pk, "service_type": "meal"},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            timeout=30,
        )

    def matched(*ids: int) -> Callable[[], bool]:
        return lambda: not ServiceRequest.objects.filter(pk__in=ids, state=RequestState.NEW)

    # Given a work order whose offer expiry (a countdown) the worker holds unacknowledged
    first = log_a_need("before")
    assert first.status_code == 201, first.text
    wait_for(
        "the worker holds the offer's expiry",
        lambda: any(b"dispatch.tasks.offer_expire" in m for m in celery_db.hvals("unacked")),
        15,
        stack.tail_logs,
    )

    # When Redis goes down and the operator logs three needs, retrying the first
    broker.stop()
    answers = [log_a_need(f"outage-{i}") for i in range(3)]
    retried = log_a_need("outage-0")

    # Then each was committed and answered 201 in JSON, quickly; the retry made nothing new
    for answer in answers:
        assert answer.status_code == 201, answer.text[:500]
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.elapsed.total_seconds() < INTAKE_BUDGET_S
    ids = [answer.json()["id"] for answer in answers]
    assert retried.status_code == 201
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["id"] == ids[0]
    assert ServiceRequest.objects.filter(pk__in=ids).count() == 3
    assert ServiceRequest.objects.count() == 4
    # And the worker is still running
    assert worker_process.poll() is None, stack.tail_logs()
    assert "Unrecoverable error" not in stack.log("celery"), stack.tail_logs()

    # When Redis comes back
    broker.start()

    # Then the worker reconnects and the stack is healthy again
    wait_for(
        "the stack is healthy again (or the worker gave up)",
        lambda: "Unrecoverable error" in stack.log("celery") or stack.healthy(),
        20,
        stack.tail_logs,
    )
    assert "Unrecoverable error" not in stack.log("celery"), stack.tail_logs()
    assert worker_process.poll() is None, stack.tail_logs()
    # And a new need is matched by the worker straight away
    after = log_a_need("after")
    assert after.status_code == 201, after.text
    wait_for("the new request is matched", matched(after.json()["id"]), 15, stack.tail_logs)
    # And the sweeper matches the needs whose enqueue was lost in the outage
    with app.connection_for_write(f"{broker.url}/{settings.REDIS_DB_CELERY}") as connection:
        app.send_task("dispatch.tasks.sweep_routine", connection=connection)
    wait_for("the sweeper matches the outage's requests", matched(*ids), 15, stack.tail_logs)
    assert worker_process.poll() is None, stack.tail_logs()


# Every API error is JSON ------------------------------------------------------------------------


class _Broken(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request):
        raise RuntimeError("a bug with a secret in its message")


def test_an_unhandled_error_in_an_api_view_answers_json_500_and_logs_the_traceback(caplog):
    response = _Broken.as_view()(APIRequestFactory().get("/api/v1/broken/"))

    assert response.status_code == 500
    response.render()
    assert response["Content-Type"] == "application/json"
    error = json.loads(response.content)["error"]
    assert error["code"] == "server_error"
    assert error["fields"] == {}
    assert "secret" not in error["message"]
    assert "RuntimeError: a bug with a secret in its message" in caplog.text
    assert "/api/v1/broken/" in caplog.text


def test_server_error_handler_answers_json_on_api_paths():
    from django.test import RequestFactory

    from backend.core.errors import server_error

    response = server_error(RequestFactory().get("/api/v1/requests/"))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["error"]["code"] == "server_error"


def test_not_found_handler_answers_json_on_api_paths():
    from django.http import Http404
    from django.test import RequestFactory

    from backend.core.errors import page_not_found

    response = page_not_found(RequestFactory().get("/api/v1/no-such-thing/"), Http404())

    assert response.status_code == 404
    assert json.loads(response.content)["error"]["code"] == "not_found"


# Side effects never fail or block the request that committed them -------------------------------


def test_an_enqueue_the_broker_refuses_is_logged_and_left_to_the_sweeper(
    db, django_capture_on_commit_callbacks, caplog
):
    class Unreachable:
        name = "dispatch.tasks.request_match"

        def apply_async(self, **kwargs):
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with django_capture_on_commit_callbacks(execute=True):
        enqueue_after_commit(Unreachable(), 42)

    assert "enqueue_failed" in caplog.text
    assert "dispatch.tasks.request_match" in caplog.text


@pytest.mark.timeout(20)
def test_a_push_to_a_hung_channel_layer_gives_up_quickly(monkeypatch):
    class Hung:
        async def group_send(self, group, message):
            await asyncio.sleep(60)

    monkeypatch.setattr(events, "get_channel_layer", lambda: Hung())
    started = time.monotonic()

    events.push_to_groups(["district.1", "user.2", "user.3"], {"id": 1})

    assert time.monotonic() - started < 2 * events.PUSH_TIMEOUT_S + 0.5


# deploy/up restarts what dies --------------------------------------------------------------------


@pytest.fixture
def supervise():
    """Run `supervise dummy COMMAND...` from deploy/supervise.sh with a short back-off."""
    started: list[subprocess.Popen] = []

    def start(*command: str) -> subprocess.Popen:
        script = f'source "{ROOT}/deploy/supervise.sh"; supervise dummy "$@"'
        proc = subprocess.Popen(
            ["bash", "-c", script, "supervise-test", *command],
            env={
                **os.environ,
                "SUPERVISE_BACKOFF_MIN_MS": "100",
                "SUPERVISE_BACKOFF_MAX_MS": "400",
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _terminate(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=5)[1]


@pytest.mark.timeout(20)
def test_supervise_restarts_a_command_that_dies_with_a_growing_back_off(supervise, tmp_path):
    runs = tmp_path / "runs"
    proc = supervise("sh", "-c", f'echo run >> "{runs}"; exit 3')

    wait_for(
        "five runs",
        lambda: runs.exists() and len(runs.read_text().splitlines()) >= 5,
        5,
        lambda: "",
    )
    stderr = _terminate(proc)

    restarts = [line for line in stderr.splitlines() if "restarting" in line]
    assert restarts[0].startswith("supervise: dummy exited with status 3"), stderr
    delays = [float(line.rsplit(" in ", 1)[1].split()[0]) for line in restarts]
    assert delays[:4] == [0.1, 0.2, 0.4, 0.4]


@pytest.mark.timeout(20)
def test_supervise_stops_its_command_on_sigterm_and_does_not_restart_it(supervise, tmp_path):
    pidfile = tmp_path / "pid"
    proc = supervise("sh", "-c", f'echo $$ > "{pidfile}"; exec sleep 60')
    wait_for("the command starts", lambda: pidfile.exists() and pidfile.read_text(), 5, str)
    child = int(pidfile.read_text())

    stderr = _terminate(proc)

    assert proc.returncode == 0
    assert "restarting" not in stderr
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
