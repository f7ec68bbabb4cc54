from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.models import IdempotencyRecord, WebSocketTicket
from backend.core.tasks import housekeeping_purge
from backend.core.tickets import ws_ticket_issue

pytestmark = pytest.mark.django_db


def test_old_keys_and_expired_tickets_are_purged_and_fresh_ones_kept(operator):
    fresh_ticket = ws_ticket_issue(user=operator)
    old_ticket = ws_ticket_issue(user=operator)
    WebSocketTicket.objects.filter(pk=old_ticket.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    kept = IdempotencyRecord.objects.create(
        user=operator, key="new", method="POST", path="/", body_hash="x"
    )
    old = IdempotencyRecord.objects.create(
        user=operator, key="old", method="POST", path="/", body_hash="x"
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=3)
    )

    assert housekeeping_purge() == {"tickets": 1, "idempotency_records": 1}
    assert list(WebSocketTicket.objects.values_list("pk", flat=True)) == [fresh_ticket.pk]
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [kept.pk]
