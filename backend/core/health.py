"""Readiness and liveness.

GET /healthz (readiness): 200 when every component answers, 503 when any is down: the
database, PostGIS, Redis (REDIS_URL: the channel layer and the cache), the Celery broker
(CELERY_BROKER_URL, whatever its transport: Redis, Sentinel or RabbitMQ; the same Redis unless
configured otherwise), the Celery workers, a worker on every queue (backend/core/queues.py) and
the timers, each sweep having run within ANXIN_TIMER_STALE_S (backend/core/watchdog.py; the
probe is one of the watchdog's checks, so a stale sweep alerts the operators once). Anyone (a
monitor) gets the overall status, computed at most once every ANONYMOUS_MAX_AGE_S per process
(each answer costs a broadcast every Celery worker must answer, the urgent one included, so a
flood of anonymous probes must not become a flood of broadcasts); each component's detail
(versions, worker names, errors, when each sweep last ran), always fresh, goes to staff signed
in to the admin site and to a monitor that presents ANXIN_HEALTH_TOKEN in the X-Health-Token
header.

GET /healthz/live (liveness): 200 from the process alone, touching neither the database nor
Redis nor Celery, so an orchestrator restarts a web process that hangs, not every one of them
because Celery or the database is down.
"""

import hmac
import threading
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from backend.celery import app

from .broker import broker_timeouts, broker_transport
from .queues import queue_consumers, queues_without_consumer, routed_queues
from .watchdog import timers_check

# How long to listen for workers' answers after the last one: a healthy platform answers at once
# (listening stops when every queue has a consumer), one missing a consumer in about this long.
CELERY_LISTEN_S = 1.0
# The broker and Redis each answer within this (seconds), or are reported down: a probe never
# hangs on one that does not answer.
CONNECT_S = 2.0
# Anonymous callers get an answer at most this old (seconds), one per process.
ANONYMOUS_MAX_AGE_S = 2.0
_anonymous_lock = threading.Lock()
_anonymous: dict = {"at": None, "healthy": False}


def anonymous_forget() -> None:
    """Drop the remembered anonymous answer (tests that change the platform between probes)."""
    with _anonymous_lock:
        _anonymous["at"] = None


class Down(Exception):
    """A component that answered, and answered that it is not well: `detail` says how."""

    def __init__(self, message: str, detail: dict):
        super().__init__(message)
        self.detail = detail


def _check(fn) -> dict:
    started = time.monotonic()
    try:
        detail = fn()
        result = {"status": "up", **(detail or {})}
    except Down as down:
        result = {"status": "down", "error": str(down), **down.detail}
    except Exception as exc:  # a health check reports every failure, whatever it is
        result = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {}


def _postgis() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT postgis_lib_version()")
        return {"version": cursor.fetchone()[0]}


def _redis() -> dict:
    """The channel layer's and the cache's Redis; the broker's too, unless CELERY_BROKER_URL
    names another."""
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=CONNECT_S, socket_timeout=CONNECT_S
    )
    try:
        client.ping()
    finally:
        client.close()
    return {}


def _broker() -> dict:
    """Connects to the configured broker as Celery does (kombu, the transport's own handshake:
    a PING through the Sentinels' current primary, an AMQP login), once more if that fails: two
    tries of half of CONNECT_S each."""
    url = settings.CELERY_BROKER_URL
    transport = broker_transport(url)
    half = CONNECT_S / 2
    options = broker_timeouts(
        transport, settings.CELERY_BROKER_TRANSPORT_OPTIONS, connect_s=half, read_s=half
    )
    with app.connection_for_write(url, connect_timeout=half, transport_options=options) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=CONNECT_S)
    return {"transport": transport}


Heard = Callable[[], dict[str, set[str]]]


def _listen() -> Heard:
    """The workers' answers to one broadcast, asked for by the first check that needs them and
    shared with the next; a broadcast that fails fails both."""
    outcome: list = []

    def heard() -> dict[str, set[str]]:
        if not outcome:
            try:
                outcome.append(queue_consumers(routed_queues(), timeout=CELERY_LISTEN_S))
            except Exception as exc:  # reported by each check that asks
                outcome.append(exc)
        if isinstance(outcome[0], Exception):
            raise outcome[0]
        return outcome[0]

    return heard


def _celery(heard: Heard) -> dict:
    if not heard():
        raise RuntimeError(f"no worker answered within {CELERY_LISTEN_S:g} s")
    return {"workers": sorted(heard())}


def _queues(heard: Heard) -> dict:
    consumers = {
        queue: sorted(worker for worker, queues in heard().items() if queue in queues)
        for queue in sorted(routed_queues())
    }
    missing = queues_without_consumer(heard())
    if missing:
        raise Down(f"no worker consumes {', '.join(missing)}", {"consumers": consumers})
    return {"consumers": consumers}


def _timers() -> dict:
    timers = timers_check()
    late = sorted(name for name, state in timers.items() if state["status"] != "up")
    if late:
        stale_after = settings.ANXIN_TIMER_STALE_S
        raise Down(f"not run within {stale_after} s: {', '.join(late)}", {"timers": timers})
    return {"timers": timers}


def _may_see_detail(request) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = settings.ANXIN_HEALTH_TOKEN
    offered = request.headers.get("X-Health-Token", "")
    return bool(token) and hmac.compare_digest(offered.encode(), token.encode())


def _checks() -> dict:
    heard = _listen()
    return {
        "database": _check(_database),
        "postgis": _check(_postgis),
        "redis": _check(_redis),
        "broker": _check(_broker),
        "celery": _check(lambda: _celery(heard)),
        "queues": _check(lambda: _queues(heard)),
        "timers": _check(_timers),
    }


def _healthy(checks: dict) -> bool:
    return all(c["status"] == "up" for c in checks.values())


def _anonymous_healthy() -> bool:
    """The overall status, computed by one probe at a time and remembered for the others."""
    with _anonymous_lock:
        at = _anonymous["at"]
        if at is None or time.monotonic() - at >= ANONYMOUS_MAX_AGE_S:
            _anonymous["healthy"] = _healthy(_checks())
            _anonymous["at"] = time.monotonic()
        return _anonymous["healthy"]


@require_GET
def healthz(request):
    body: dict
    if _may_see_detail(request):
        checks = _checks()
        healthy = _healthy(checks)
        body = {"status": "up" if healthy else "down", "checks": checks}
    else:
        healthy = _anonymous_healthy()
        body = {"status": "up" if healthy else "down"}
    return JsonResponse(body, status=200 if healthy else 503)


@require_GET
def healthz_live(request):
    return JsonResponse({"status": "up"})
