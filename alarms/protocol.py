"""The device protocol's rules, in one place (docs/alarms.md): the headers, the signature and
the clock window a message's times must fall in."""

import hashlib
import hmac
from datetime import datetime, timedelta

HEADER_DEVICE = "X-Anxin-Device"
HEADER_TIMESTAMP = "X-Anxin-Timestamp"
HEADER_SIGNATURE = "X-Anxin-Signature"
HEADER_SERVER_TIME = "X-Anxin-Server-Time"

# Devices keep messages while offline: up to a day old is taken (and marked late).
MAX_AGE = timedelta(hours=24)
# A device clock this far ahead of ours is refused: the answer's server time lets it correct.
MAX_AHEAD = timedelta(seconds=300)
MAX_BODY_BYTES = 4096


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Lower-case hex HMAC-SHA256 keyed with the secret's text, over timestamp "." raw body."""
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    expected = signature(secret, timestamp, body).encode()
    return hmac.compare_digest(expected, given.encode("utf-8", "replace"))


def clock_problem(at: datetime, now: datetime) -> str | None:
    """`too_old` or `in_future` when `at` falls outside the window, else None."""
    if at < now - MAX_AGE:
        return "too_old"
    if at > now + MAX_AHEAD:
        return "in_future"
    return None
