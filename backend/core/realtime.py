"""Messages a client may send over /ws/, each handled by the app that owns it; and what an app
wants to know when a push of its reached someone's socket.

Apps register a handler in their AppConfig.ready(), so this project package never imports a
domain app. A handler gets the authenticated user and the message's `data`, runs in a worker
thread (it may use the database), and returns the `data` of the reply; raising
`MessageRefused` answers with an error instead.
"""

from collections.abc import Callable
from typing import Any

from backend.accounts.models import User

Handler = Callable[[User, dict[str, Any]], dict[str, Any]]
HANDLERS: dict[str, tuple[str, Handler]] = {}


class MessageRefused(Exception):
    def __init__(self, code: str, fields: dict[str, list[str]] | None = None):
        super().__init__(code)
        self.code = code
        self.fields = fields or {}


def register(message_type: str, reply_type: str, handler: Handler) -> None:
    HANDLERS[message_type] = (reply_type, handler)


# Told after a push of one of these event kinds was written to a user's socket: the user and
# the envelope. Runs in a worker thread (it may use the database), after the send, without
# holding up the socket's next message; what it raises is logged. `wanted`, if given, is asked
# first on the socket's own loop (cheap, no database): False spares the thread hop.
Delivered = Callable[[User, dict[str, Any]], None]
Wanted = Callable[[User, dict[str, Any]], bool]
DELIVERED: dict[str, list[tuple[Delivered, Wanted | None]]] = {}


def on_delivered(event_kind: str, callback: Delivered, *, wanted: Wanted | None = None) -> None:
    DELIVERED.setdefault(event_kind, []).append((callback, wanted))
