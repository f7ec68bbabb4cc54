"""One-time WebSocket tickets: fetched over authenticated REST, spent once on /ws/?ticket=."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from backend.accounts.models import User

from .models import WebSocketTicket


def ws_ticket_issue(*, user: User) -> WebSocketTicket:
    ttl = timedelta(seconds=settings.ANXIN["WS_TICKET_TTL_S"])
    return WebSocketTicket.objects.create(
        token=secrets.token_urlsafe(32), user=user, expires_at=timezone.now() + ttl
    )


def ws_ticket_redeem(*, token: str) -> User | None:
    """Spend the ticket atomically: a replayed or expired ticket gives nobody."""
    now = timezone.now()
    spent = WebSocketTicket.objects.filter(
        token=token, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if not spent:
        return None
    ticket = WebSocketTicket.objects.select_related("user").get(token=token)
    return ticket.user if ticket.user.is_active else None


def ws_tickets_revoke(*, user_id: int) -> None:
    """Unspent tickets of a user whose tokens just ended open nothing."""
    WebSocketTicket.objects.filter(user_id=user_id, used_at__isnull=True).delete()
