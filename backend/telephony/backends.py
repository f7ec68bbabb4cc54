"""The notification interface: send an SMS, place a voice call. Twilio arrives later as one more
backend behind the same two methods; nothing in the domain imports a backend directly."""

import json
import threading
import uuid
from typing import ClassVar, Protocol

import structlog
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from backend.core.logging import phone_tail

log = structlog.get_logger(__name__)


class NotificationBackend(Protocol):
    def send_sms(self, *, to: str, body: str) -> str: ...

    def place_call(self, *, to: str, say: str) -> str: ...


class FileBackend:
    """Development: every message is a JSON line in var/outbox.jsonl, readable with `tail -f`."""

    _lock = threading.Lock()

    def _write(self, record: dict) -> str:
        record = {"id": uuid.uuid4().hex, "at": timezone.now().isoformat(), **record}
        path = settings.NOTIFICATION_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False)
        with self._lock, open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        log.info("notification_written", kind=record["kind"], to=phone_tail(record["to"]))
        return record["id"]

    def send_sms(self, *, to: str, body: str) -> str:
        return self._write({"kind": "sms", "to": to, "body": body})

    def place_call(self, *, to: str, say: str) -> str:
        return self._write({"kind": "call", "to": to, "say": say})


class RecordingBackend:
    """Tests: keeps messages in memory; `RecordingBackend.outbox` is cleared by a fixture."""

    outbox: ClassVar[list[dict]] = []

    def send_sms(self, *, to: str, body: str) -> str:
        message_id = uuid.uuid4().hex
        self.outbox.append({"id": message_id, "kind": "sms", "to": to, "body": body})
        return message_id

    def place_call(self, *, to: str, say: str) -> str:
        message_id = uuid.uuid4().hex
        self.outbox.append({"id": message_id, "kind": "call", "to": to, "say": say})
        return message_id


def get_backend() -> NotificationBackend:
    return import_string(settings.NOTIFICATION_BACKEND)()
