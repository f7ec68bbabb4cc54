"""CELERY_BROKER_URL: the broker may be a Redis of its own, Redis behind Sentinel or RabbitMQ
(docs/production.md, "The broker"), each with the transport options its client library takes;
and /healthz checks that broker, whatever it is, within its time."""

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from django.test import Client

from backend.core import broker as transports
from backend.core.health import CONNECT_S
from tests.core.test_health import TOKEN, all_up
from tests.stack import RedisServer, _kill_group, free_port, wait_for
from tests.test_production_settings import PRODUCTION_ENV, python

SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "from backend.celery import app; print(json.dumps({'url': s.CELERY_BROKER_URL, "
    "'options': s.CELERY_BROKER_TRANSPORT_OPTIONS, 'celery_url': app.conf.broker_url, "
    "'celery_options': app.conf.broker_transport_options}, "
    "default=lambda retry: f'retries={retry.get_retries()}'))"
)
SENTINELS = "sentinel://:pw@s1.internal:26379/1;sentinel://:pw@s2.internal:26379/1"
REDIS_ONLY = {"visibility_timeout", "socket_timeout", "socket_connect_timeout"}


def broker_settings(**env: str) -> dict:
    result = python(SHOW, env={**PRODUCTION_ENV, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_the_variable_the_broker_is_redis_url_s_celery_database():
    broker = broker_settings(REDIS_DB_CELERY="7")

    assert broker["url"] == broker["celery_url"] == "redis://redis.internal:6379/7"
    assert broker["options"] == {
        "visibility_timeout": 600,
        "socket_connect_timeout": 2,
        "socket_timeout": 3,
    }


def test_an_empty_variable_is_no_broker_of_its_own():
    """A Kubernetes Secret may carry the key empty: the default broker, not a broken URL."""
    broker = broker_settings(CELERY_BROKER_URL="")

    assert broker["url"] == "redis://redis.internal:6379/1"


def test_the_variable_wins_and_celery_uses_it():
    url = "redis://:secret@broker.internal:6380/0"

    broker = broker_settings(CELERY_BROKER_URL=url, REDIS_DB_CELERY="7")

    assert broker["url"] == broker["celery_url"] == url
    assert broker["options"]["visibility_timeout"] == 600


def test_a_sentinel_url_without_the_master_name_is_refused_at_start():
    result = python(SHOW, env={**PRODUCTION_ENV, "CELERY_BROKER_URL": SENTINELS})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "set CELERY_BROKER_SENTINEL_MASTER" in result.stderr


def test_the_sentinel_master_name_reaches_celery_s_transport_options():
    broker = broker_settings(CELERY_BROKER_URL=SENTINELS, CELERY_BROKER_SENTINEL_MASTER="anxin")

    assert broker["url"] == broker["celery_url"] == SENTINELS
    assert broker["celery_options"] == broker["options"]
    assert broker["options"] == {
        "master_name": "anxin",
        "visibility_timeout": 600,
        "socket_connect_timeout": 2,
        "socket_timeout": 3,
        # Asking the next Sentinel is the retry (backend/core/broker.py).
        "sentinel_kwargs": {"socket_connect_timeout": 2, "socket_timeout": 3, "retry": "retries=0"},
    }


def test_sentinels_with_a_password_of_their_own_get_it_and_the_timeouts():
    """redis-py gives the Sentinels' connections the socket timeouts only when sentinel_kwargs
    is not given: with their password, the timeouts must be in it too."""
    broker = broker_settings(
        CELERY_BROKER_URL=SENTINELS,
        CELERY_BROKER_SENTINEL_MASTER="anxin",
        CELERY_BROKER_SENTINEL_PASSWORD="sentinel-secret",
    )

    assert broker["options"]["sentinel_kwargs"] == {
        "password": "sentinel-secret",
        "socket_connect_timeout": 2,
        "socket_timeout": 3,
        "retry": "retries=0",
    }


def test_rabbitmq_gets_py_amqp_s_timeouts_and_none_of_redis_s_options():
    """py-amqp takes its own names and silently ignores Redis's: with Redis's names alone a
    publish to a RabbitMQ that hangs would wait forever. A visibility timeout means nothing
    there (acknowledgements are the broker's own)."""
    url = "amqp://anxin:secret@rabbit.internal:5672/anxin"

    broker = broker_settings(CELERY_BROKER_URL=url)

    assert broker["url"] == broker["celery_url"] == url
    assert broker["options"] == {"connect_timeout": 2, "read_timeout": 3, "write_timeout": 3}
    assert not REDIS_ONLY & set(broker["celery_options"])


def test_a_broker_of_another_transport_is_refused_at_start():
    result = python(SHOW, env={**PRODUCTION_ENV, "CELERY_BROKER_URL": "reddis://typo:6379/1"})

    assert result.returncode != 0
    assert "CELERY_BROKER_URL: the broker URL's scheme 'reddis' is not one of" in result.stderr


# /healthz --------------------------------------------------------------------------------------


@pytest.fixture
def monitor(settings):
    settings.ANXIN_HEALTH_TOKEN = TOKEN
    return Client(headers={"X-Health-Token": TOKEN})


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections (the kernel's backlog) and never says a word: a broker
    that hangs rather than refuses."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.mark.django_db
def test_health_checks_the_configured_broker_and_passes_on_the_real_one(monkeypatch, monitor):
    all_up(monkeypatch)

    response = monitor.get("/healthz")

    assert response.status_code == 200
    broker = response.json()["checks"]["broker"]
    assert (broker["status"], broker["transport"]) == ("up", "redis")


@pytest.mark.django_db
@pytest.mark.timeout(15)
@pytest.mark.parametrize("url", ["amqp://127.0.0.1:1//", "redis://127.0.0.1:1/0"])
def test_health_reports_a_broker_that_refuses_as_down(settings, monkeypatch, monitor, url):
    all_up(monkeypatch)  # this process's Celery connections stay on the real broker
    settings.CELERY_BROKER_URL = url

    response = monitor.get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["status"] == "down"
    assert "refused" in checks["broker"]["error"].lower()
    assert checks["redis"]["status"] == "up"


@pytest.mark.django_db
@pytest.mark.timeout(15)
@pytest.mark.parametrize("scheme", ["amqp", "redis"])
def test_health_gives_up_on_a_broker_that_hangs_within_its_bound(
    settings, monkeypatch, monitor, silent_port, scheme
):
    all_up(monkeypatch)
    settings.CELERY_BROKER_URL = (
        f"amqp://127.0.0.1:{silent_port}//"
        if scheme == "amqp"
        else f"redis://127.0.0.1:{silent_port}/0"
    )

    response = monitor.get("/healthz")

    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["status"] == "down"
    # Two tries of half the bound each, and a little for the rest of the check.
    assert broker["ms"] < CONNECT_S * 1000 + 500


# Through a real Sentinel -----------------------------------------------------------------------

SENTINEL_PASSWORD = "sentinel-password-for-tests"


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[SimpleNamespace]:
    """A throwaway Redis primary and one Sentinel watching it as group "anxin", the Sentinel
    with a password of its own (requirepass); and a port where no Sentinel answers."""
    primary = RedisServer(tmp_path)
    primary.start()
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\nrequirepass {SENTINEL_PASSWORD}\n"
        f"sentinel monitor anxin 127.0.0.1 {primary.port} 1\n"
    )
    log = tmp_path / "sentinel.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            ["redis-server", str(conf), "--sentinel"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        client = redis.Redis(port=port, password=SENTINEL_PASSWORD, socket_timeout=1)
        wait_for("the Sentinel knows the primary", lambda: _knows(client), 10, log.read_text)
        yield SimpleNamespace(port=port, dead_port=free_port(), primary=primary)
    finally:
        _kill_group(proc)
        primary.stop()


def _knows(client: redis.Redis) -> bool:
    try:
        return client.sentinel_get_master_addr_by_name("anxin") is not None
    except redis.RedisError:
        return False


def sentinel_url(sentinel: SimpleNamespace, db: int) -> str:
    """A dead Sentinel listed first: the one a failover or a restart may leave there."""
    return (
        f"sentinel://127.0.0.1:{sentinel.dead_port}/{db};sentinel://127.0.0.1:{sentinel.port}/{db}"
    )


@pytest.mark.timeout(60)
def test_a_task_goes_through_the_sentinels_to_the_primary_without_waiting_on_a_dead_one(
    sentinel,
):
    sent = python(
        "import django, time; django.setup(); from backend.celery import app; "
        "started = time.monotonic(); app.send_task('backend.core.tasks.housekeeping_purge'); "
        "print(time.monotonic() - started)",
        env={
            **PRODUCTION_ENV,
            "CELERY_BROKER_URL": sentinel_url(sentinel, 3),
            "CELERY_BROKER_SENTINEL_MASTER": "anxin",
            "CELERY_BROKER_SENTINEL_PASSWORD": SENTINEL_PASSWORD,
        },
    )

    assert sent.returncode == 0, sent.stderr
    primary = redis.Redis(port=sentinel.primary.port, db=3)
    assert primary.llen("anxin-prod-bulk") == 1
    assert float(sent.stdout) < 1.0


@pytest.mark.django_db
@pytest.mark.timeout(60)
@pytest.mark.parametrize(("master", "status"), [("anxin", "up"), ("another", "down")])
def test_health_checks_the_broker_through_the_sentinels(
    settings, monkeypatch, monitor, sentinel, master, status
):
    all_up(monkeypatch)
    settings.CELERY_BROKER_URL = sentinel_url(sentinel, 0)
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = transports.broker_timeouts(
        transports.SENTINEL,
        {"master_name": master, "sentinel_kwargs": {"password": SENTINEL_PASSWORD}},
        connect_s=2,
        read_s=3,
    )

    response = monitor.get("/healthz")

    broker = response.json()["checks"]["broker"]
    assert (broker["status"], response.status_code) == (status, 200 if status == "up" else 503)
    assert broker["ms"] < CONNECT_S * 1000
    if status == "up":
        assert broker["transport"] == "sentinel"
    else:
        assert "No master found for 'another'" in broker["error"]
