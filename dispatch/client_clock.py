"""The phone's clock at a check-in or check-out, read against the server's: one rule for the API's
input (what is refused) and the visit services (what is recorded).

A phone's clock may be minutes off, so its time is never compared with the server's directly
when the phone also says what its clock read when it sent the attempt (the `X-Client-Sent-At`
header; a header, not the body, so a resend under the same Idempotency-Key has the same body):

- the offline gap, how long the phone kept the attempt: `sent_at - client_at`, both read on the
  phone's own clock, so its error cancels out. Beyond ANXIN_CLIENT_TIME_GAP_M the visit is an
  exception for a supervisor (`late_sync`);
- the clock skew: `server_now - sent_at` (the phone's error, plus the time on the wire);
- the phone's time on the server's clock, recorded on the visit: `client_at + skew`.

A bad clock is never a refusal then; only a `client_at` after `sent_at` is (400 naming
`client_at`: the two come from the same clock). Without the header (API clients that do not
send it) the phone's time is compared with the server's as before: one ahead by more than
ANXIN_CLIENT_TIME_AHEAD_S is a 400, and the gap is `server_now - client_at`."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

HEADER = "X-Client-Sent-At"


def client_at_refusal(client_at: datetime, sent_at: datetime | None, now: datetime) -> str:
    """Why `client_at` is refused (the message for its field), or "" when it is not."""
    if sent_at is not None:
        if client_at > sent_at:
            return _("after the phone's time of sending it (%(header)s)") % {"header": HEADER}
        return ""
    ahead_s = settings.ANXIN["CLIENT_TIME_AHEAD_S"]
    if client_at > now + timedelta(seconds=ahead_s):
        return _("in the future by more than %(s)s s: the phone's clock is wrong") % {"s": ahead_s}
    return ""


@dataclass(frozen=True)
class ClientClock:
    """What a check-in or check-out records of the phone's clock: `at`, the phone's time moved
    onto the server's clock (the visit's `client_checked_in_at` / `client_checked_out_at`), and
    `facts` for its event: the raw `client_at`, `client_sent_at` and `client_skew_s` (seconds,
    server minus phone) when the phone said when it sent it, `client_gap_s` (seconds the attempt
    waited) and `late_sync`."""

    at: datetime | None
    facts: dict[str, Any]

    @property
    def late_sync(self) -> bool:
        return bool(self.facts.get("late_sync"))


def client_clock_read(
    client_at: datetime | None, sent_at: datetime | None, now: datetime
) -> ClientClock:
    """The phone's clock read against the server's `now` (see the module). Nothing without a
    phone time."""
    if client_at is None:
        return ClientClock(at=None, facts={})
    facts: dict[str, Any] = {"client_at": client_at.isoformat()}
    if sent_at is None:
        gap, at = now - client_at, client_at
    else:
        skew = now - sent_at
        gap, at = sent_at - client_at, client_at + skew
        facts |= {
            "client_sent_at": sent_at.isoformat(),
            "client_skew_s": round(skew.total_seconds(), 1),
            "client_at_corrected": at.isoformat(),
        }
    gap_s = round(gap.total_seconds(), 1)
    late = abs(gap_s) > settings.ANXIN["CLIENT_TIME_GAP_M"] * 60
    return ClientClock(at=at, facts=facts | {"client_gap_s": gap_s, "late_sync": late})
