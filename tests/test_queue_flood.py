"""The acceptance test of queues by urgency (issue 11): with the routine and notify queues flooded
by a large backlog of real work, an emergency logged through the API is offered to the nearest
worker's phone within seconds, while the routine backlog is still waiting. Real processes:
the web server and one Celery worker per queue (as deploy/up runs them, with less concurrency)."""

import asyncio
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from backend.accounts.models import Role
from backend.celery import app
from dispatch.models import JobOffer, Priority, RequestState, ServiceRequest, ServiceType
from tests import factories as f
from tests.stack import running_stack
from tests.test_end_to_end import Phone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

ROUTINE_BACKLOG = 2000  # routine work orders waiting to be matched, each a real match
NOTIFY_BACKLOG = 3000  # SMS waiting to be sent
ON_TIME_S = 3.0  # from the operator's POST to the offer on the worker's socket


@pytest.fixture
def stack(catalogue, tmp_path):
    app.control.purge()
    with running_stack(tmp_path, per_queue=True) as s:
        yield s
    app.control.purge()  # the backlog left behind


def routine_requests(elder, n: int) -> list[int]:
    """`n` routine meal orders for `elder`, due for matching now, written in one statement."""
    meal = ServiceType.objects.get(code="meal")
    now = timezone.now()
    made = ServiceRequest.objects.bulk_create(
        ServiceRequest(
            district_id=elder.district_id,
            elder=elder,
            service_type=meal,
            channel="operator",
            priority=Priority.ROUTINE,
            window_start=now + timedelta(hours=1),
            window_end=now + timedelta(hours=2),
            match_at=now,
            accept_due_at=now + timedelta(hours=1),
            arrive_due_at=now + timedelta(hours=2),
        )
        for _ in range(n)
    )
    return [sr.pk for sr in made]


def notification_backlog(phone: str, n: int) -> list[int]:
    """`n` routine SMS in the notification log, due now, written in one statement."""
    from backend.telephony.models import Notification

    now = timezone.now()
    made = Notification.objects.bulk_create(
        Notification(
            event=f"flood:{i}",
            recipient=phone,
            channel="sms",
            template="sms.visit_check_out",
            params={"elder": "王", "service": "meal", "time": "10:00", "reference": str(i)},
            language="zh-hans",
            send_after=now,
            enqueued_at=now,
        )
        for i in range(n)
    )
    return [n.pk for n in made]


def flood(request_ids: list[int], notification_ids: list[int]) -> None:
    """Each routine order's matching task, and each SMS's delivery, on the broker at once."""
    with app.producer_or_acquire() as producer:
        for pk in request_ids:
            app.send_task("dispatch.tasks.request_match", args=[pk], producer=producer)
        for pk in notification_ids:
            app.send_task(
                "backend.telephony.tasks.notification_deliver", args=[pk], producer=producer
            )


# The test process runs tasks inline; the backlog is sent to the real workers on purpose.
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_an_emergency_is_offered_on_time_while_the_routine_queue_is_flooded(stack):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queues = settings.ANXIN_QUEUES
    district = f.DistrictFactory(code="220104000000", name="朝阳区")
    operator = f.UserFactory(role=Role.OPERATOR, district=district, username="op")
    authenticator = f.totp_device(operator)
    # The emergency: an elder at home, a worker 150 m away
    elder = f.ElderFactory(district=district)
    near = f.WorkerFactory(
        provider=f.ProviderFactory(district=district),
        user=f.UserFactory(role=Role.WORKER, username="near"),
    )
    f.place_worker(near, f.offset(f.HOME, east_m=150))
    # The routine load: 12 km away, with workers of its own to offer to (real matching)
    across_town = f.offset(f.HOME, north_m=12_000)
    regular = f.ElderFactory(district=district, location=across_town)
    for east_m in (100, 200):
        helper = f.WorkerFactory(provider=f.ProviderFactory(district=district))
        f.place_worker(helper, f.offset((across_town.x, across_town.y), east_m=east_m))
    # No sweep may offer the emergency, or match the backlog (only their own matching tasks
    # may): beat stops here, and whatever sweep it had sent is done before the flood.
    stack.kill("beat")
    while broker.llen(queues["urgent"]) or broker.llen(queues["routine"]):
        time.sleep(0.1)
    time.sleep(0.5)
    backlog = routine_requests(regular, ROUTINE_BACKLOG)
    texts = notification_backlog("+8613900001111", NOTIFY_BACKLOG)

    async def scenario() -> tuple[float, int]:
        desk = Phone(stack, "op", otp=f.totp_code(authenticator))
        phone = Phone(stack, "near")
        await phone.connect()

        # Given the routine and notify queues flooded
        await asyncio.to_thread(flood, backlog, texts)

        # When the operator logs an emergency
        started = time.monotonic()
        created = await asyncio.to_thread(
            desk.post, "/api/v1/requests/", {"elder": elder.pk, "service_type": "emergency"}
        )
        assert created.status_code == 201, created.text
        emergency = created.json()["id"]

        # Then the nearest worker's phone has its offer within the bound
        await phone.expect("offer.created", timeout=ON_TIME_S + 5, request=emergency)
        took = time.monotonic() - started
        phone.reader.cancel()
        await phone.socket.close()
        return took, emergency

    took, emergency = asyncio.run(scenario())
    waiting = broker.llen(queues["routine"])
    matched = ServiceRequest.objects.filter(pk__in=backlog).exclude(state=RequestState.NEW).count()

    assert took < ON_TIME_S, f"offered after {took:.2f} s\n{stack.tail_logs()}"
    # And the routine backlog is still there behind it: the emergency did not wait for it
    assert waiting > 0, "the routine backlog drained before the offer: no flood to beat"
    assert JobOffer.objects.filter(request_id=emergency, worker=near).exists()
    print(
        f"\nflood: emergency offered in {took:.2f} s, when {matched} of {ROUTINE_BACKLOG} routine "
        f"orders were matched and the routine queue held {waiting} messages"
    )
