"""Work serving an emergency goes to the urgent queue, everything else to routine or notify: read
from the real broker (this run's Redis database), where each message lands."""

import json

import pytest
import redis

from backend.celery import app
from backend.core.queues import LANES
from dispatch import services
from dispatch.models import ServiceRequest, ServiceType
from tests import factories as f
from tests.dispatch.conftest import create

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(settings):
    """Tasks are published to Redis instead of run inline; `sent()` reads each queue."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    settings.CELERY_TASK_ALWAYS_EAGER = False  # Celery reads Django's settings as they are
    app.control.purge()

    def sent() -> dict[str, list[str]]:
        return {
            lane: sorted(
                json.loads(raw)["headers"]["task"].rsplit(".", 1)[1]
                for raw in client.lrange(settings.ANXIN_QUEUES[lane], 0, -1)
            )
            for lane in LANES
        }

    yield sent
    app.control.purge()


def match(request_id, capture):
    with capture(execute=True):
        services.request_match(request_id=request_id)


def test_an_emergencys_matching_and_offer_expiry_go_to_the_urgent_queue(
    operator, elder, make_worker, django_capture_on_commit_callbacks, broker
):
    make_worker(east_m=30)

    emergency = create(operator, elder, django_capture_on_commit_callbacks, service="emergency")
    match(emergency, django_capture_on_commit_callbacks)

    assert broker() == {
        "urgent": ["offer_expire", "request_match"],
        "routine": [],
        "notify": [],
        "bulk": [],
        "alarm": [],
        "device": [],
    }


def test_a_routine_requests_matching_and_offer_expiry_go_to_the_routine_queue(
    operator, elder, make_worker, django_capture_on_commit_callbacks, broker
):
    make_worker(east_m=30)

    meal = create(operator, elder, django_capture_on_commit_callbacks)
    match(meal, django_capture_on_commit_callbacks)

    assert broker()["routine"] == ["offer_expire", "request_match"]
    assert broker()["urgent"] == []


def test_an_emergencys_contacts_are_texted_and_called_from_the_urgent_queue(
    operator, elder, django_capture_on_commit_callbacks, broker
):
    f.ContactFactory(elder=elder, priority=1)
    f.ContactFactory(elder=elder, priority=2)
    emergency = create(operator, elder, django_capture_on_commit_callbacks, service="emergency")

    match(emergency, django_capture_on_commit_callbacks)  # nobody to offer it to

    assert ServiceRequest.objects.get(pk=emergency).state == "escalated"
    # Two texts when it was made, two when nobody took it, and the first contact's call
    assert broker()["urgent"] == ["notification_deliver"] * 5 + ["request_match"]
    assert broker()["notify"] == []


def test_contacts_told_of_routine_work_are_texted_from_the_notify_queue(
    operator, elder, django_capture_on_commit_callbacks, broker
):
    ServiceType.objects.filter(code="meal").update(notify_contacts=True)
    f.ContactFactory(elder=elder, priority=1)
    meal = create(operator, elder, django_capture_on_commit_callbacks)

    match(meal, django_capture_on_commit_callbacks)

    assert ServiceRequest.objects.get(pk=meal).state == "escalated"
    assert broker()["notify"] == ["notification_deliver", "notification_deliver"]
    assert broker()["urgent"] == []
