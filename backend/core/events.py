"""Record a state change once: the row is the audit trail, the push and the feed entry."""

import asyncio
from collections.abc import Iterable
from typing import Any

import structlog
from channels.layers import BaseChannelLayer, get_channel_layer
from django.db import connection, models, transaction
from django.db.models.expressions import RawSQL
from redis.exceptions import RedisError

from backend.accounts.models import STAFF_ROLES, User

from . import breaker as breakers
from .models import Event
from .push_loop import run_push

log = structlog.get_logger(__name__)

# A push is a hint: past this, the client catches up from the events feed instead.
PUSH_TIMEOUT_S = 1.0

# Every transaction with an id below this has ended: events below it can no longer appear.
COMMIT_SAFE_WATERMARK = RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", ())


def district_group(district_id: int) -> str:
    return f"district.{district_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def event_envelope(event: Event) -> dict[str, Any]:
    return {
        "type": event.kind,
        "id": event.pk,
        "at": event.at.isoformat().replace("+00:00", "Z"),
        "data": {
            "subject": {"type": event.subject_type, "id": event.subject_id},
            "before": event.before or None,
            "after": event.after or None,
            **event.data,
        },
    }


def event_record(
    *,
    kind: str,
    subject_type: str,
    subject_id: int,
    actor: User | None = None,
    before: str = "",
    after: str = "",
    data: dict[str, Any] | None = None,
    district_id: int | None = None,
    recipients: Iterable[int] = (),
) -> Event:
    """Write the event and push it to the district's staff and the named recipients after commit.

    Call inside the transaction that makes the change, so the audit row and the change commit or
    roll back together.
    """
    event = Event.objects.create(
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        actor=actor if actor and actor.is_authenticated else None,
        before=before,
        after=after,
        data=data or {},
        district_id=district_id,
        recipients=sorted(set(recipients)),
    )
    groups = [user_group(uid) for uid in event.recipients]
    if district_id is not None:
        groups.append(district_group(district_id))
    envelope = event_envelope(event)
    # Robust: whatever the push does, what committed stands and its request still answers.
    transaction.on_commit(lambda: push_to_groups(groups, envelope), robust=True)
    return event


def push_to_groups(groups: list[str], envelope: dict[str, Any]) -> None:
    """Best effort: a lost push is caught up from the events feed, never trusted alone.

    Runs after the commit, inside the request or task that made the change."""
    layer_send(
        groups, {"type": "event.push", "envelope": envelope}, hint=True, event_id=envelope["id"]
    )


def layer_send(
    groups: list[str], message: dict[str, Any], *, hint: bool = False, **context: Any
) -> None:
    """Send `message` to each group over the channel layer, from synchronous code (a request's
    thread, a task, a command). Whatever Redis does (refuses, hangs), this neither raises nor
    waits longer than about PUSH_TIMEOUT_S; failures are logged with `context`.

    It runs on the ASGI server's loop inside the server, on the process's push loop anywhere
    else (backend/core/push_loop.py): either way on a loop where the layer keeps its connection
    pool for the life of the process, never on a new loop per push.

    `hint`: the message only hints at what the database holds (an event the feed and the sweeps
    back), so it is skipped while the push breaker is open. A command to sockets (closing a
    deactivated user's) is always tried.
    """
    if hint and not breakers.push.closed():  # Redis failed lately (backend/core/breaker.py)
        log.warning("push_skipped", groups=groups, **context, reason="redis_unreachable")
        return
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        run_push(_send_all(layer, groups, message, context), timeout=PUSH_TIMEOUT_S + _PUSH_GRACE_S)
    except TimeoutError:
        breakers.push.trip()
        log.warning("push_timed_out", groups=groups, **context)
    except Exception:  # the database holds what the push only hints at
        log.warning("push_failed", groups=groups, **context, exc_info=True)


# The deadline on the loop (PUSH_TIMEOUT_S, in _send_all) comes first and is the one logged; the
# caller stops waiting this much later only if that loop cannot answer at all.
_PUSH_GRACE_S = 0.1


async def _send_all(
    layer: BaseChannelLayer, groups: list[str], message: dict[str, Any], context: dict[str, Any]
) -> None:
    async def send(group: str) -> None:
        try:
            await layer.group_send(group, message)
        except (OSError, RedisError):  # Redis refuses or drops us: not worth asking again soon
            breakers.push.trip()
            log.warning("push_failed", group=group, **context, exc_info=True)
        except Exception:
            log.warning("push_failed", group=group, **context, exc_info=True)

    try:
        await asyncio.wait_for(asyncio.gather(*map(send, groups)), PUSH_TIMEOUT_S)
    except TimeoutError:
        breakers.push.trip()
        log.warning("push_timed_out", groups=groups, **context, after_s=PUSH_TIMEOUT_S)


def events_visible_to(user: User) -> models.QuerySet[Event]:
    if user.role in STAFF_ROLES:
        return Event.objects.filter(district_id=user.staff_district_id)
    return Event.objects.filter(recipients__contains=[user.pk])


def events_after(user: User, *, after: int | None, limit: int) -> list[Event]:
    """Events the user may see, in feed order (writing transaction, then id), that are final.

    Sequence ids are not in commit order, so the feed is ordered by the writing transaction's id
    and serves only transactions below the commit-safe watermark: an event that commits late
    is still ahead of every cursor that was handed out before it.
    """
    qs = events_visible_to(user).filter(xid__lt=COMMIT_SAFE_WATERMARK)
    if after:
        anchor = Event.objects.filter(pk=after).values_list("xid", flat=True).first()
        if anchor is None:
            return []
        qs = qs.filter(models.Q(xid__gt=anchor) | models.Q(xid=anchor, pk__gt=after))
    return list(qs.order_by("xid", "pk")[:limit])


def events_head(user: User) -> int | None:
    """The feed's cursor now: the last final event the user may see, in feed order. A page
    rendered from the database now reads the feed from here to learn what changed since."""
    last = (
        events_visible_to(user)
        .filter(xid__lt=COMMIT_SAFE_WATERMARK)
        .order_by("-xid", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return last


def events_rebase_after_restore() -> int:
    """Move the stored events' transaction ids below this cluster's next one, in the same order;
    how far they moved (0: nothing to do). Run after restoring a dump, before the platform starts.

    Transaction ids belong to the cluster, and a dump does not carry its counter: restored into
    a cluster that is behind the old one, every restored event would stay above the commit-safe
    watermark (never served) and every new event would sort before the clients' cursors (never
    served after them). Safe to run at every start: where the events are already below, it only
    reads the highest.

    Below the oldest transaction still running, not only below this one: a writer that took its
    id before this step and writes its event after it must still sort after every restored
    event, or a client whose cursor is a restored event would never be served it.
    """
    table = connection.ops.quote_name(Event._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        cursor.execute(
            "SELECT pg_current_xact_id()::text::bigint, "
            "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
        )
        current, oldest = cursor.fetchone()
        highest = Event.objects.aggregate(highest=models.Max("xid"))["highest"]
        if highest is None or highest < current:
            return 0
        shift = highest - min(current, oldest) + 1
        Event.objects.update(xid=models.F("xid") - shift)
    return shift
