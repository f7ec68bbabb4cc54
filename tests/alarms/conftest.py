import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from alarms.protocol import signature
from tests.conftest import api


@pytest.fixture
def device(elder, operator):
    """A button registered on the elder through the devices endpoint: (serial, secret)."""
    answer = api(operator).post(
        f"/api/v1/elders/{elder.pk}/devices/",
        {"serial": "BTN-0001", "kind": "button", "heartbeat_interval_s": 600},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    return answer.json()["serial"], answer.json()["secret"]


def message(kind: str = "sos", *, ago_s: float = 0, **extra) -> dict:
    at = datetime.now(UTC) - timedelta(seconds=ago_s)
    return {"event_id": str(uuid.uuid4()), "kind": kind, "at": at.isoformat(), **extra}


def send(client, device, body, *, ago_s: float = 0, secret: str | None = None, raw=None):
    """Post `body` as the device would: signed over the exact bytes sent."""
    serial, real_secret = device
    data = raw if raw is not None else json.dumps(body).encode()
    timestamp = str(int(time.time() - ago_s))
    return client.post(
        "/api/v1/alarms/",
        data=data,
        content_type="application/json",
        HTTP_X_ANXIN_DEVICE=serial,
        HTTP_X_ANXIN_TIMESTAMP=timestamp,
        HTTP_X_ANXIN_SIGNATURE=signature(secret or real_secret, timestamp, data),
    )
