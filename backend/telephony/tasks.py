"""Thin tasks over services: take an id, and do nothing when the work is already done. The
delivery runs on the notify lane (an emergency's is sent to the urgent lane by its enqueue
site); the sweep on beat, on the urgent lane and watched by the watchdog, is the guarantee
(backend/core/queues.py, CELERY_BEAT_SCHEDULE)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from backend.core.batches import delete_in_batches
from backend.core.watchdog import heartbeat_record

from . import services
from .models import Notification


# No autoretry: a failure is settled by the delivery policy (services.py), never retried blind.
@shared_task(acks_late=True)
def notification_deliver(notification_id: int) -> str:
    return services.notification_deliver(notification_id=notification_id)


@shared_task(acks_late=True)
def notifications_sweep() -> dict[str, int]:
    done = services.notifications_sweep()
    heartbeat_record(name="backend.telephony.tasks.notifications_sweep")  # for the watchdog
    return done


@shared_task(acks_late=True)
def notifications_purge() -> dict[str, int]:
    """The log keeps names and references in its parameters: rows older than
    ANXIN["NOTIFICATION_KEEP_DAYS"] go (the events of the work orders stay)."""
    keep = timedelta(days=settings.ANXIN["NOTIFICATION_KEEP_DAYS"])
    old = Notification.objects.filter(created_at__lt=timezone.now() - keep)
    return {"notifications": delete_in_batches(old)}
