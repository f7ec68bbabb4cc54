"""GET /healthz: anyone learns whether the platform is up; the per-component detail (versions,
worker names, errors) goes only to staff signed in or to a monitor presenting the health token."""

import pytest
from django.conf import settings
from django.test import Client

from backend.core import health
from backend.core.watchdog import heartbeat_record
from tests import factories as f

TOKEN = "monitor-token-0123456789-abcdefghijklmnop"


@pytest.fixture
def monitor(settings):
    settings.ANXIN_HEALTH_TOKEN = TOKEN
    return Client(headers={"X-Health-Token": TOKEN})


def workers_answer(monkeypatch, answers):
    """The workers that answer the health check's broadcast, and the queues each consumes."""
    asked = []

    def consumers(wanted, *, timeout):
        asked.append(timeout)
        return answers

    monkeypatch.setattr(health, "queue_consumers", consumers)
    return asked


def all_up(monkeypatch):
    """Every queue has a worker and every sweep has just run."""
    workers_answer(monkeypatch, {"anxin-worker@test": set(settings.ANXIN_QUEUES.values())})
    for timer in settings.ANXIN_WATCHED_TIMERS:
        heartbeat_record(name=timer)


@pytest.mark.django_db
def test_health_is_503_and_names_celery_when_no_worker_answers(monkeypatch, monitor):
    """Whether a worker listens on the broker is not left to chance: the broadcast is answered
    by nobody here, whatever else runs on this machine. One broadcast serves both checks."""
    asked = workers_answer(monkeypatch, {})

    response = monitor.get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "up"
    assert checks["postgis"]["status"] == "up" and checks["postgis"]["version"].startswith("3.")
    assert checks["redis"]["status"] == "up"
    assert checks["broker"] == {"status": "up", "transport": "redis", "ms": checks["broker"]["ms"]}
    assert checks["celery"]["status"] == "down"
    assert "no worker answered" in checks["celery"]["error"]
    assert checks["queues"]["status"] == "down"
    assert asked == [health.CELERY_LISTEN_S]


@pytest.mark.django_db
def test_health_is_503_and_names_a_queue_no_worker_consumes(monkeypatch, monitor):
    queues = settings.ANXIN_QUEUES
    workers_answer(monkeypatch, {"u@test": {queues["urgent"]}, "r@test": {queues["routine"]}})

    response = monitor.get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["celery"]["status"] == "up"
    assert checks["queues"]["status"] == "down"
    missing = f"{queues['alarm']}, {queues['bulk']}, {queues['device']}, {queues['notify']}"
    assert checks["queues"]["error"] == f"no worker consumes {missing}"
    assert checks["queues"]["consumers"][queues["urgent"]] == ["u@test"]
    assert checks["queues"]["consumers"][queues["bulk"]] == []


@pytest.mark.django_db
def test_health_is_200_when_every_component_answers(monkeypatch, monitor):
    all_up(monkeypatch)

    response = monitor.get("/healthz")

    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["celery"] == {
        "status": "up",
        "workers": ["anxin-worker@test"],
        "ms": checks["celery"]["ms"],
    }
    assert checks["queues"]["consumers"] == {
        queue: ["anxin-worker@test"] for queue in settings.ANXIN_QUEUES.values()
    }


@pytest.mark.django_db
def test_health_reports_the_broker_down(settings, monitor, monkeypatch):
    all_up(monkeypatch)  # this process's Celery connections stay on the real broker
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = monitor.get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["status"] == "down"
    # The channel layer's and the cache's Redis is another component, and it is up.
    assert checks["redis"]["status"] == "up"


@pytest.mark.django_db
def test_health_reports_redis_down(settings, monitor, monkeypatch):
    all_up(monkeypatch)
    settings.REDIS_URL = "redis://127.0.0.1:1"

    response = monitor.get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"]["status"] == "down"
    assert checks["broker"]["status"] == "up"


@pytest.mark.django_db
def test_an_anonymous_caller_learns_the_overall_status_and_nothing_else(monkeypatch, settings):
    all_up(monkeypatch)
    up = Client().get("/healthz")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    remembered = Client().get("/healthz")
    health.anonymous_forget()  # as two seconds later
    down = Client().get("/healthz")

    assert (up.status_code, up.json()) == (200, {"status": "up"})
    assert (remembered.status_code, remembered.json()) == (200, {"status": "up"})
    assert (down.status_code, down.json()) == (503, {"status": "down"})


@pytest.mark.django_db
def test_a_flood_of_anonymous_probes_costs_one_check(monkeypatch):
    """Each check broadcasts to every Celery worker: anonymous probes share one answer."""
    all_up(monkeypatch)
    listened = []
    real = health._listen
    monkeypatch.setattr(health, "_listen", lambda: listened.append(1) or real())

    answers = [Client().get("/healthz").status_code for _ in range(20)]

    assert answers == [200] * 20
    assert len(listened) == 1


@pytest.mark.django_db
def test_a_wrong_token_or_none_configured_gets_the_status_only(monkeypatch, settings):
    all_up(monkeypatch)
    settings.ANXIN_HEALTH_TOKEN = TOKEN
    wrong = Client(headers={"X-Health-Token": TOKEN[:-1]}).get("/healthz")
    settings.ANXIN_HEALTH_TOKEN = ""
    empty = Client(headers={"X-Health-Token": ""}).get("/healthz")

    assert wrong.json() == {"status": "up"}
    assert empty.json() == {"status": "up"}


@pytest.mark.django_db
def test_staff_signed_in_see_each_component_and_other_users_do_not(monkeypatch, district):
    all_up(monkeypatch)
    staff = Client()
    staff.force_login(f.UserFactory(role="supervisor", district=district, is_staff=True))
    operator = Client()
    operator.force_login(f.UserFactory(role="operator", district=district))

    assert set(staff.get("/healthz").json()["checks"]) == {
        "database",
        "postgis",
        "redis",
        "broker",
        "celery",
        "queues",
        "timers",
    }
    assert operator.get("/healthz").json() == {"status": "up"}
