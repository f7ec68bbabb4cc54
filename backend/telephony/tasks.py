"""Thin tasks over services: take an id, and do nothing when the work is already done. The
delivery runs on the notify lane (an emergency's is sent to the urgent lane by its enqueue
site); the sweep on beat, on the urgent lane and watched by the watchdog, is the guarantee
(backend/core/queues.py, CELERY_BEAT_SCHEDULE)."""

from datetime import timedelta

import structlog
from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from backend.core.batches import delete_in_batches
from backend.core.logging import phone_tail
from backend.core.watchdog import heartbeat_record

from . import services
from .models import Notification

log = structlog.get_logger(__name__)


# No autoretry: a failure is settled by the delivery policy (services.py), never retried blind.
@shared_task(acks_late=True)
def notification_deliver(notification_id: int) -> str:
    return services.notification_deliver(notification_id=notification_id)


@shared_task(acks_late=True)
def notifications_sweep() -> dict[str, int]:
    done = services.notifications_sweep()
    heartbeat_record(name="backend.telephony.tasks.notifications_sweep")  # for the watchdog
    return done


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=60,
)
def inbound_sms_take(from_number: str, to_number: str, body: str, message_sid: str = "") -> str:
    """An inbound SMS the webhook could not keep while the database was slow (Twilio does not
    send it again): taken as soon as the database answers, retried until it does."""
    log.info("inbound_sms_taken_late", message_sid=message_sid, to=phone_tail(to_number))
    with transaction.atomic():
        reply = services.inbound_sms_late(
            from_number=from_number, body=body, message_sid=message_sid, to_number=to_number
        )
    return "replied" if reply else "taken"


@shared_task(acks_late=True)
def notifications_purge() -> dict[str, int]:
    """The log keeps names and references in its parameters: rows older than
    ANXIN["NOTIFICATION_KEEP_DAYS"] go (the events of the work orders stay)."""
    keep = timedelta(days=settings.ANXIN["NOTIFICATION_KEEP_DAYS"])
    old = Notification.objects.filter(created_at__lt=timezone.now() - keep)
    return {"notifications": delete_in_batches(old)}
