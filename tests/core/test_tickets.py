from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.models import WebSocketTicket
from backend.core.tickets import ws_ticket_issue, ws_ticket_redeem

pytestmark = pytest.mark.django_db


def test_a_ticket_opens_one_socket_only(operator):
    ticket = ws_ticket_issue(user=operator)

    assert ws_ticket_redeem(token=ticket.token) == operator
    assert ws_ticket_redeem(token=ticket.token) is None


def test_an_expired_ticket_opens_nothing(operator):
    ticket = ws_ticket_issue(user=operator)
    WebSocketTicket.objects.filter(pk=ticket.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert ws_ticket_redeem(token=ticket.token) is None
