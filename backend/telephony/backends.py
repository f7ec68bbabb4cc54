"""The notification backends: send an SMS from a template, place a call, redirect a live call.

Nothing in the domain calls a backend: `services.notify` writes the notification log and its
delivery task calls `get_backend()`. The interface takes a template and its parameters, not a
text, because domestic carriers accept only registered templates; each backend renders it (or
hands the code to a carrier that does). Every method returns the provider's id for the message
or call (its SID), which status callbacks carry back.

- FileBackend (development): every SMS (with its rendered text, template and parameters) and
  every call and redirect is a JSON line in var/outbox.jsonl, readable with `tail -f`.
- RecordingBackend (tests): the same records in memory, in `RecordingBackend.outbox`.
- TwilioBackend (twilio_backend.py, production).
"""

import json
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol
from urllib.parse import urlencode

import structlog
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from backend.core.logging import phone_tail

from .templates import render

log = structlog.get_logger(__name__)


class NotificationBackend(Protocol):
    def send_sms(
        self,
        *,
        to: str,
        template: str,
        params: Mapping[str, Any],
        language: str,
        status_url: str,
    ) -> str: ...

    def place_call(
        self,
        *,
        to: str,
        url: str,
        status_url: str,
        template: str = "",
        params: Mapping[str, Any] | None = None,
        language: str = "",
    ) -> str:
        """Call `to`; once answered the provider fetches what to say from `url`. The template
        is what that answer will speak (a record for the file and recording backends)."""
        ...

    def redirect_call(self, *, call_sid: str, url: str) -> None: ...


def _sms(
    to: str, template: str, params: Mapping[str, Any], language: str, status_url: str
) -> dict[str, Any]:
    return {
        "kind": "sms",
        "to": to,
        "template": template,
        "params": dict(params),
        "language": language,
        "body": render(template, params, language),
        "status_url": status_url,
    }


def _call(
    to: str,
    url: str,
    status_url: str,
    template: str,
    params: Mapping[str, Any] | None,
    language: str,
) -> dict[str, Any]:
    return {
        "kind": "call",
        "to": to,
        "url": url,
        "status_url": status_url,
        "template": template,
        "params": dict(params or {}),
        "language": language,
        "say": render(template, params or {}, language) if template else "",
    }


class _RecordingSends(ABC):
    """What the development and test backends share: each send is a record (the rendered text
    included) that `_record` keeps somewhere and names by its id."""

    @abstractmethod
    def _record(self, record: dict[str, Any]) -> str: ...

    def send_sms(
        self,
        *,
        to: str,
        template: str,
        params: Mapping[str, Any],
        language: str,
        status_url: str,
    ) -> str:
        return self._record(_sms(to, template, params, language, status_url))

    def place_call(
        self,
        *,
        to: str,
        url: str,
        status_url: str,
        template: str = "",
        params: Mapping[str, Any] | None = None,
        language: str = "",
    ) -> str:
        return self._record(_call(to, url, status_url, template, params, language))

    def redirect_call(self, *, call_sid: str, url: str) -> None:
        self._record({"kind": "redirect", "call_sid": call_sid, "url": url})


class FileBackend(_RecordingSends):
    """Development: every message, call and redirect is a JSON line in NOTIFICATION_FILE."""

    _lock = threading.Lock()

    def _record(self, record: dict[str, Any]) -> str:
        record = {"id": uuid.uuid4().hex, "at": timezone.now().isoformat(), **record}
        path = settings.NOTIFICATION_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False)
        with self._lock, open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        log.info("notification_written", kind=record["kind"], to=phone_tail(record.get("to", "")))
        return str(record["id"])


class RecordingBackend(_RecordingSends):
    """Tests: keeps the same records in memory; `RecordingBackend.outbox` is cleared by a
    fixture (tests/conftest.py)."""

    outbox: ClassVar[list[dict[str, Any]]] = []

    def _record(self, record: dict[str, Any]) -> str:
        record = {"id": uuid.uuid4().hex, **record}
        self.outbox.append(record)
        return str(record["id"])


def get_backend() -> NotificationBackend:
    backend: NotificationBackend = import_string(settings.NOTIFICATION_BACKEND)()
    return backend


def hook_url(name: str, **query: Any) -> str:
    """The absolute URL of one of our webhooks (/hooks/twilio/<name>/), as Twilio is to request
    it and will sign it: ANXIN_PUBLIC_URL, the path, and the query in the order given."""
    suffix = f"?{urlencode(query)}" if query else ""
    return f"{settings.ANXIN_PUBLIC_URL}/hooks/twilio/{name}/{suffix}"


def status_url(notification_id: int) -> str:
    """Where the provider reports the row's delivery status (MessageStatus, CallStatus). The
    row's id is in it, so a callback that arrives before the provider's SID is saved (the REST
    answer still on its way back) still finds its row."""
    return hook_url("status", n=notification_id)


def voice_url(notification_id: int) -> str:
    """What the provider fetches when an outbound call is answered (flows.answer_twiml)."""
    return hook_url("voice", n=notification_id)


def gather_url(notification_id: int) -> str:
    """Where a keypad answer to an outbound call goes (flows.gather_twiml)."""
    return hook_url("gather", n=notification_id)
