import pytest
from django.test import Client


@pytest.mark.django_db
def test_health_is_503_and_names_celery_when_no_worker_answers():
    # No Celery worker listens on the test broker during unit tests.
    response = Client().get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "up"
    assert checks["postgis"]["status"] == "up" and checks["postgis"]["version"].startswith("3.")
    assert checks["redis"]["status"] == "up"
    assert checks["celery"]["status"] == "down"
    assert "ping" in checks["celery"]["error"]


@pytest.mark.django_db
def test_health_reports_redis_down(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["status"] == "down"
