"""/ws/: authenticate by one-time ticket, join the caller's groups, relay pushes. Nothing else:
pushes are sent from services after commit, and clients catch up from the events feed."""

import asyncio
from urllib.parse import parse_qs

import structlog
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .events import district_group, user_group
from .realtime import DELIVERED, HANDLERS, Delivered, MessageRefused
from .tickets import ws_ticket_redeem

log = structlog.get_logger(__name__)

UNAUTHORISED = 4401
# The tasks telling apps of deliveries, held until they finish (the loop keeps only weak refs).
_telling: set[asyncio.Task] = set()


class EventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        token = (query.get("ticket") or [""])[0]
        user = await database_sync_to_async(ws_ticket_redeem)(token=token) if token else None
        if user is None:
            await self.close(code=UNAUTHORISED)
            return
        self.user = user
        self.groups_joined = [user_group(user.pk)]
        if user.is_district_staff and user.district_id:
            self.groups_joined.append(district_group(user.district_id))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "data": {"user": user.pk, "role": user.role}})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        if kind not in HANDLERS:
            await self.send_json({"type": "error", "data": {"code": "unknown_type"}})
            return
        reply_type, handler = HANDLERS[kind]
        data = content.get("data") if isinstance(content.get("data"), dict) else {}
        try:
            reply = await database_sync_to_async(handler)(self.user, data)
        except MessageRefused as refused:
            await self.send_json(
                {"type": "error", "data": {"code": refused.code, "fields": refused.fields}}
            )
            return
        await self.send_json({"type": reply_type, "data": reply})

    async def event_push(self, message: dict) -> None:
        envelope = message["envelope"]
        await self.send_json(envelope)
        for callback, wanted in DELIVERED.get(envelope.get("type"), ()):
            if wanted is not None and not wanted(self.user, envelope):
                continue
            task = asyncio.ensure_future(_tell(callback, self.user, envelope))
            _telling.add(task)
            task.add_done_callback(_telling.discard)

    async def workers_positions(self, message: dict) -> None:
        """The console map's batch of workers' positions (console/positions.py), sent to a
        district's staff group: relayed as it is. Not an event: no id, nothing to catch up."""
        await self.send_json({"type": "workers.positions", "data": message["data"]})

    async def live_hint(self, message: dict) -> None:
        """A push that is not an event (dispatch/en_route.py's distance on the way): relayed as
        `{"type": kind, "data": ...}`. No id, nothing to catch up: the next one replaces it."""
        await self.send_json({"type": message["kind"], "data": message["data"]})

    async def session_end(self, message: dict) -> None:
        """The user's tokens were ended (password change, deactivation): so is this socket."""
        await self.close(code=UNAUTHORISED)


async def _tell(callback: Delivered, user, envelope: dict) -> None:
    try:
        await database_sync_to_async(callback)(user, envelope)
    except Exception:
        log.exception("delivered_callback_failed", event=envelope.get("id"))
