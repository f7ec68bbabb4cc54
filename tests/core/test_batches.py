"""Purges delete a batch per transaction, so none holds the events feed back for long."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.core.batches import delete_in_batches
from backend.core.models import WebSocketTicket
from backend.core.tickets import ws_ticket_issue

pytestmark = pytest.mark.django_db


def test_a_purge_deletes_a_batch_per_transaction_and_counts_what_went(operator):
    tickets = [ws_ticket_issue(user=operator) for _ in range(6)]
    expired = [t.pk for t in tickets[:5]]
    WebSocketTicket.objects.filter(pk__in=expired).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    with CaptureQueriesContext(connection) as ran:
        deleted = delete_in_batches(
            WebSocketTicket.objects.filter(expires_at__lt=timezone.now()), batch=2
        )

    assert deleted == 5
    assert list(WebSocketTicket.objects.values_list("pk", flat=True)) == [tickets[5].pk]
    statements = [q["sql"].split()[0] for q in ran.captured_queries]
    # Inside this test's transaction each batch's own transaction shows as a savepoint.
    assert statements == ["SELECT", "SAVEPOINT", "DELETE", "RELEASE"] * 3
