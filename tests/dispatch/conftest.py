"""Shared situations of the dispatch tests."""

from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from dispatch.models import JobOffer, OperatorAlert, Visit
from dispatch.tasks import sweep_deadlines
from tests import factories as f
from tests.conftest import api

ON_THE_DOORSTEP = {"location": {"type": "Point", "coordinates": list(f.HOME)}}


def create(user, elder, capture, service="meal"):
    with capture(execute=True):
        response = api(user).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": service}, format="json"
        )
    return response.json()["id"]


@pytest.fixture
def other_session():
    """A second database session, as another worker process would have one (autocommit)."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        autocommit=True,
    ) as session:
        yield session


@pytest.fixture
def missing_check_out(operator, elder, make_worker, django_capture_on_commit_callbacks):
    worker = make_worker(east_m=30)
    sr = create(operator, elder, django_capture_on_commit_callbacks)
    client = api(worker.user)
    client.post(f"/api/v1/offers/{JobOffer.objects.get(worker=worker).pk}/accept/")
    client.post(f"/api/v1/requests/{sr}/check-in/", ON_THE_DOORSTEP, format="json")
    Visit.objects.filter(request_id=sr).update(checked_in_at=timezone.now() - timedelta(hours=3))
    sweep_deadlines()
    return OperatorAlert.objects.get(request_id=sr, kind="missing_check_out")
