"""Thin tasks over services: take an id, and do nothing when the work is already done. The
delivery runs on the notify lane (an emergency's is sent to the urgent lane by its enqueue
site); the sweep on beat, on the urgent lane and watched by the watchdog, is the guarantee
(backend/core/queues.py, CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from backend.core.watchdog import heartbeat_record

from . import services


# No autoretry: a failure is settled by the delivery policy (services.py), never retried blind.
@shared_task(acks_late=True)
def notification_deliver(notification_id: int) -> str:
    return services.notification_deliver(notification_id=notification_id)


@shared_task(acks_late=True)
def notifications_sweep() -> dict[str, int]:
    done = services.notifications_sweep()
    heartbeat_record(name="backend.telephony.tasks.notifications_sweep")  # for the watchdog
    return done
