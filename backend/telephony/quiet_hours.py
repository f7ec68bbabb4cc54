"""Quiet hours: when routine messages wait (never emergencies). A window such as "22:00-07:00"
in the platform's display time zone (DISPLAY_TIME_ZONE, the zone dispatch shows local times
in); it may wrap past midnight. An empty window means none."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings


def parse(window: str) -> tuple[time, time] | None:
    """("22:00", "07:00") from "22:00-07:00"; None for ""; ValueError when malformed."""
    window = window.strip()
    if not window:
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in window.split("-"))
    except ValueError:
        raise ValueError(f'quiet hours must look like "22:00-07:00", not {window!r}') from None
    if start == end:
        raise ValueError(f"quiet hours {window!r} start and end at the same time")
    return start, end


def send_after(now: datetime, window: str, tz: ZoneInfo | None = None) -> datetime:
    """The earliest time at or after `now` outside the quiet window."""
    bounds = parse(window)
    if bounds is None:
        return now
    start, end = bounds
    local = now.astimezone(tz or ZoneInfo(settings.DISPLAY_TIME_ZONE))
    clock = local.time().replace(tzinfo=None)
    # A window that wraps past midnight is quiet after its start or before its end.
    quiet = start <= clock < end if start < end else clock >= start or clock < end
    if not quiet:
        return now
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    # Built from the wall clock, so a change of UTC offset in between is taken into account.
    return datetime.combine(day, end, tzinfo=local.tzinfo)
