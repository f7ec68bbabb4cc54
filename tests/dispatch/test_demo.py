"""The demo district (`manage.py seed_demo`): its accounts play together, and it looks like a
real district."""

from io import StringIO

import pytest
from django.core.management import call_command

from backend.accounts.models import User
from dispatch.models import JobOffer
from elders.selectors import elders_visible_to
from tests.conftest import api

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_family1s_meal_request_is_offered_to_worker1(django_capture_on_commit_callbacks):
    seed()
    family1 = User.objects.get(username="family1")
    elder = elders_visible_to(family1).get()

    with django_capture_on_commit_callbacks(execute=True):
        response = api(family1).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": "meal"}, format="json"
        )

    assert response.status_code == 201, response.json()
    [offer] = JobOffer.objects.filter(request_id=response.json()["id"]).select_related("worker")
    assert offer.worker.user.username == "worker1"
