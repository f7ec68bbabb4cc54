import pytest
from django.test import Client

from backend.celery import app as celery_app


@pytest.mark.django_db
def test_health_is_503_and_names_celery_when_no_worker_answers(monkeypatch):
    """Whether a worker listens on the broker is not left to chance: the ping is answered by
    nobody here, whatever else runs on this machine."""
    pings = []
    monkeypatch.setattr(celery_app.control, "ping", lambda **kw: pings.append(kw) or [])

    response = Client().get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "up"
    assert checks["postgis"]["status"] == "up" and checks["postgis"]["version"].startswith("3.")
    assert checks["redis"]["status"] == "up"
    assert checks["celery"]["status"] == "down"
    assert "ping" in checks["celery"]["error"]
    assert pings, "the health check asked the workers"


@pytest.mark.django_db
def test_health_is_200_when_every_component_answers(monkeypatch):
    monkeypatch.setattr(
        celery_app.control, "ping", lambda **kw: [{"anxin-worker@test": {"ok": "pong"}}]
    )

    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json()["checks"]["celery"] == {
        "status": "up",
        "workers": ["anxin-worker@test"],
        "ms": response.json()["checks"]["celery"]["ms"],
    }


@pytest.mark.django_db
def test_health_reports_redis_down(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["status"] == "down"
