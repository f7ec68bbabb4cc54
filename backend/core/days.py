"""The platform's local days, for every figure counted per day: days begin and end in the
display time zone (`DISPLAY_TIME_ZONE`, Asia/Shanghai unless set); districts carry no time zone
of their own."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.DISPLAY_TIME_ZONE)


def local_today() -> date:
    return datetime.now(local_zone()).date()


def local_days_span(first: date, last: date) -> tuple[datetime, datetime]:
    """From the first moment of `first` to the first moment after `last` (excluded)."""
    zone = local_zone()
    return (
        datetime.combine(first, time.min, tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone),
    )
