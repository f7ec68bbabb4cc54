"""GET /healthz: 200 when every component answers, 503 when any is down.

Anyone (a load balancer) gets the overall status; each component's detail (versions, worker
names, errors) goes to staff signed in to the admin site and to a monitor that presents
ANXIN_HEALTH_TOKEN in the X-Health-Token header.
"""

import hmac
import time

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from backend.celery import app as celery_app

CELERY_PING_TIMEOUT_S = 2.0


def _check(fn) -> dict:
    started = time.monotonic()
    try:
        detail = fn()
        result = {"status": "up", **(detail or {})}
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
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
    client.ping()
    return {}


def _celery() -> dict:
    replies = celery_app.control.ping(timeout=CELERY_PING_TIMEOUT_S, limit=1)
    if not replies:
        raise RuntimeError(f"no worker answered a ping within {CELERY_PING_TIMEOUT_S:g} s")
    return {"workers": sorted(name for reply in replies for name in reply)}


def _may_see_detail(request) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = settings.ANXIN_HEALTH_TOKEN
    offered = request.headers.get("X-Health-Token", "")
    return bool(token) and hmac.compare_digest(offered.encode(), token.encode())


@require_GET
def healthz(request):
    checks = {
        "database": _check(_database),
        "postgis": _check(_postgis),
        "redis": _check(_redis),
        "celery": _check(_celery),
    }
    healthy = all(c["status"] == "up" for c in checks.values())
    body: dict = {"status": "up" if healthy else "down"}
    if _may_see_detail(request):
        body["checks"] = checks
    return JsonResponse(body, status=200 if healthy else 503)
