"""Real processes for end-to-end tests: the web server (deploy/web), Celery workers and beat on
the test database, and, for tests that take the broker away, a Redis server of their own.

Every process runs in its own session, so `stop()` kills it with all its children."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

from backend.core.queues import LANES

ROOT = Path(__file__).resolve().parent.parent
HEALTH_TOKEN = "stack-monitor-token-for-end-to-end-tests-only"
MONITOR = {"X-Health-Token": HEALTH_TOKEN}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill_group(proc: subprocess.Popen, timeout: float = 10) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def wait_for(what: str, check, timeout: float, logs) -> None:
    """Until `check()` is true, or fail after `timeout` s with `what` and `logs()`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}\n{logs()}")


class RedisServer:
    """A throwaway redis-server on a free port, no persistence, that a test may stop and start."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.log = tmp / "redis.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> None:
        log = open(self.log, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server did not start:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc)
            self.proc = None

    def pause(self) -> None:
        """Redis hangs (SIGSTOP): connections stay open and nothing answers, unlike a stop."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)


class Stack:
    """The web server, Celery workers and beat on the test database; `redis_url` points them
    at another Redis."""

    def __init__(
        self, tmp: Path, *, redis_url: str | None = None, env: dict[str, str] | None = None
    ):
        self.extra_env = env or {}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.outbox = tmp / "outbox.jsonl"
        self.logs = tmp
        self.redis_url = redis_url
        self.procs: dict[str, subprocess.Popen] = {}

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backend.settings.test",
            "DATABASE_NAME": connection.settings_dict["NAME"],
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "ANXIN_NOTIFICATION_BACKEND": "backend.telephony.backends.FileBackend",
            "ANXIN_NOTIFICATION_FILE": str(self.outbox),
            # The test's own cache keys: its lockouts and token versions hold in the servers too,
            # and tests/conftest.py clears them after the test.
            "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
            # Beat's sweeps every second: /healthz is ready once both have run (the watchdog).
            # The monitor's token: its probes get a fresh answer (anonymous ones may be 2 s old).
            "ANXIN_HEALTH_TOKEN": HEALTH_TOKEN,
            "ANXIN_SWEEP_URGENT_S": "1",
            "ANXIN_SWEEP_ROUTINE_S": "1",
            "ANXIN_NOTIFY_SWEEP_S": "1",
            "ANXIN_ALARM_SWEEP_S": "1",
            **self.extra_env,
        }
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.procs[name]

    def start_web(self, workers: int = 1, **env: str) -> subprocess.Popen:
        """The web server as production runs it (deploy/web: uvicorn, `workers` processes)."""
        log = open(self.logs / "web.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs["web"] = subprocess.Popen(
            [str(ROOT / "deploy" / "web")],
            cwd=ROOT,
            env={
                **self.env(),
                "PORT": str(self.port),
                "ANXIN_WEB_WORKERS": str(workers),
                "ANXIN_WEB_ACCESS_LOG": "1",
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.procs["web"]

    def start_worker(
        self, *lanes: str, pool: str = "threads", concurrency: int = 4
    ) -> subprocess.Popen:
        """A worker on this run's queues of `lanes` (all four if none is named: the process
        "celery"), named from CELERY_QUEUE, so no other run's worker takes its tasks."""
        lanes = lanes or LANES
        name = "celery" if set(lanes) == set(LANES) else f"celery-{'-'.join(lanes)}"
        return self.start(
            name,
            "celery",
            "-A",
            "backend",
            "worker",
            "-Q",
            ",".join(settings.ANXIN_QUEUES[lane] for lane in lanes),
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"e2e-{name}-{self.port}@%h",
            "--loglevel=INFO",
        )

    def start_workers_per_queue(self) -> None:
        """One worker per queue as deploy/up runs them, with less concurrency."""
        for lane in LANES:
            if lane == "bulk":
                self.start_worker(lane, pool="prefork", concurrency=1)
            else:
                self.start_worker(lane, concurrency=2)

    def start_beat(self) -> subprocess.Popen:
        """Celery beat, as deploy/up runs it, its schedule file in the test's folder."""
        return self.start(
            "beat",
            "celery",
            "-A",
            "backend",
            "beat",
            "--loglevel=INFO",
            "--schedule",
            str(self.logs / "celerybeat-schedule"),
            "--pidfile",
            str(self.logs / "celerybeat.pid"),
        )

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.base}/healthz", headers=MONITOR, timeout=5).ok
        except (requests.ConnectionError, requests.Timeout):  # not up, or still starting
            return False

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def wait_live(self, timeout: float = 60) -> None:
        """Until the web server answers /healthz/live (it needs nothing else running)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/healthz/live", timeout=2).ok:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not up, or still starting
                pass
            time.sleep(0.1)
        raise AssertionError(f"web server not live:\n{self.tail_logs()}")

    def wait_healthy(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = requests.get(f"{self.base}/healthz", headers=MONITOR, timeout=5)
                if last.status_code == 200:
                    return last.json()
            except (requests.ConnectionError, requests.Timeout):  # not up, or still starting
                pass
            time.sleep(0.2)
        raise AssertionError(f"stack not healthy: {last and last.text}\n{self.tail_logs()}")

    def tail_logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in self.logs.glob("*.log")
        )

    def kill(self, name: str) -> None:
        """Stop one process and all its children, as if it had died."""
        _kill_group(self.procs.pop(name))

    def kill_hard(self, name: str) -> None:
        """SIGKILL one process and all its children at once: nothing gets to clean up (a
        Celery worker acknowledges nothing it held, an ASGI server closes no socket)."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            _kill_group(proc)


@contextlib.contextmanager
def running_stack(
    tmp: Path,
    *,
    redis_url: str | None = None,
    per_queue: bool = False,
    env: dict[str, str] | None = None,
):
    """The web server (two processes), a Celery worker on every queue (or, `per_queue`, one
    per queue) and beat on the test database, healthy (the sweeps have run), stopped
    afterwards. `env` adds to (or overrides) every process's environment."""
    stack = Stack(tmp, redis_url=redis_url, env=env)
    # Two web processes, as production has several: a push made in one reaches a socket held
    # by the other only through the channel layer.
    stack.start_web(workers=2)
    if per_queue:
        stack.start_workers_per_queue()
    else:
        stack.start_worker()
    stack.start_beat()
    try:
        stack.wait_healthy()
        yield stack
    finally:
        stack.stop()
