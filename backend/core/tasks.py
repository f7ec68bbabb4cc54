from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .batches import delete_in_batches
from .models import IdempotencyRecord, WebSocketTicket


@shared_task(acks_late=True)
def housekeeping_purge() -> dict[str, int]:
    """Drop spent or expired WebSocket tickets and idempotency records past their window."""
    now = timezone.now()
    keep_keys = timedelta(hours=settings.ANXIN["IDEMPOTENCY_TTL_H"])
    tickets = delete_in_batches(WebSocketTicket.objects.filter(expires_at__lt=now))
    keys = delete_in_batches(IdempotencyRecord.objects.filter(created_at__lt=now - keep_keys))
    return {"tickets": tickets, "idempotency_records": keys}
