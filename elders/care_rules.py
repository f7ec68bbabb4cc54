"""What a care-plan entry's rule (CareNeed.rrule, RFC 5545 RRULE in local time) may say, and its
occurrences: the one place for both. The API's validation and the admin's (the model field's
validator) call `care_rule_parse`; dispatch's expansion calls `care_rule_occurrences`, which
parses again, so a rule stored before these bounds (or by hand) is refused there too.

The bounds keep expansion cheap and finite. Every rule that passes occurs at least once in every
period of its INTERVAL (a year at most), and expansion starts from the latest date in phase
with `starts_on` rather than from `starts_on` itself: an entry started years ago costs what a
new one costs. A rule that could never occur (the 30th of February) would make dateutil walk to
the year 9999 looking for it; none passes.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY")
MAX_PER_DAY = 4
MAX_INTERVAL = {"DAILY": 31, "WEEKLY": 52, "MONTHLY": 12}
# How far back a new entry may start (expansion only looks ahead from now anyway).
START_MAX_DAYS_BACK = 31
PARTS = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYHOUR", "BYMINUTE", "WKST")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ORDINAL_WEEKDAY = re.compile(r"^([+-]?[1-4])?(MO|TU|WE|TH|FR|SA|SU)$")


class CareRuleInvalid(ValueError):
    """The reason a rule is refused, in words for the person who wrote it."""


@dataclass(frozen=True)
class CareRule:
    text: str  # upper case, without an "RRULE:" prefix
    freq: str
    interval: int
    parts: dict[str, str]


def care_rule_parse(text: str) -> CareRule:
    """The rule, if it is within the bounds; CareRuleInvalid saying why not."""
    rule_text = text.strip().upper().removeprefix("RRULE:")
    if not rule_text or any(c in rule_text for c in "\r\n:"):
        raise CareRuleInvalid(_("one line of RRULE parts, e.g. FREQ=DAILY;BYHOUR=11;BYMINUTE=30"))
    parts: dict[str, str] = {}
    for part in rule_text.split(";"):
        key, sep, value = part.partition("=")
        if not sep or not value:
            raise CareRuleInvalid(
                _("%(part)s is not NAME=VALUE") % {"part": part or _("an empty part")}
            )
        if key in parts:
            raise CareRuleInvalid(_("%(key)s is given twice") % {"key": key})
        parts[key] = value
    _refuse_unknown(parts)
    freq = parts.get("FREQ", "")
    if freq not in FREQUENCIES:
        raise CareRuleInvalid(_("FREQ must be DAILY, WEEKLY or MONTHLY"))
    interval = _integers(parts, "INTERVAL", 1, MAX_INTERVAL[freq], default=[1])[0]
    hours = _integers(parts, "BYHOUR", 0, 23)
    if not hours:
        raise CareRuleInvalid(_("BYHOUR is required: at what hour (0-23) the service is due"))
    minutes = _integers(parts, "BYMINUTE", 0, 59, default=[0])
    if len(hours) * len(minutes) > MAX_PER_DAY:
        raise CareRuleInvalid(
            _("at most %(most)s times a day: BYHOUR times BYMINUTE gives %(count)s")
            % {"most": MAX_PER_DAY, "count": len(hours) * len(minutes)}
        )
    _check_days(parts, freq, interval)
    if parts.get("WKST", "MO") not in WEEKDAYS:
        raise CareRuleInvalid(_("WKST must be a weekday, MO to SU"))
    try:
        rrulestr(rule_text, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError) as exc:
        raise CareRuleInvalid(_("not a valid RRULE: %(error)s") % {"error": exc}) from None
    return CareRule(text=rule_text, freq=freq, interval=interval, parts=parts)


def _refuse_unknown(parts: dict[str, str]) -> None:
    for key in parts:
        if key in ("COUNT", "UNTIL"):
            raise CareRuleInvalid(
                _("no %(key)s: the entry's ends_on says when it ends") % {"key": key}
            )
        if key not in PARTS:
            raise CareRuleInvalid(
                _("%(key)s is not taken here; a rule uses %(parts)s")
                % {"key": key, "parts": ", ".join(PARTS)}
            )


def _integers(
    parts: dict[str, str], key: str, low: int, high: int, *, default: list[int] | None = None
) -> list[int]:
    if key not in parts:
        return default or []
    try:
        values = [int(v) for v in parts[key].split(",")]
    except ValueError:
        raise CareRuleInvalid(_("%(key)s takes whole numbers") % {"key": key}) from None
    if len(set(values)) != len(values) or not all(low <= v <= high for v in values):
        raise CareRuleInvalid(
            _("%(key)s takes distinct numbers from %(low)s to %(high)s")
            % {"key": key, "low": low, "high": high}
        )
    return values


def _check_days(parts: dict[str, str], freq: str, interval: int) -> None:
    """Only day rules that occur in every period: a weekday (the 1st to 4th or the last 1st to
    4th in a month), or a day of the month that every month has."""
    days = parts.get("BYDAY", "").split(",") if "BYDAY" in parts else []
    if "BYMONTHDAY" in parts:
        if freq != "MONTHLY":
            raise CareRuleInvalid(_("BYMONTHDAY is for FREQ=MONTHLY"))
        if days:
            raise CareRuleInvalid(_("BYMONTHDAY or BYDAY, not both"))
        for value in parts["BYMONTHDAY"].split(","):
            if not re.fullmatch(r"-?[0-9]{1,2}", value) or not 1 <= abs(int(value)) <= 28:
                raise CareRuleInvalid(
                    _("BYMONTHDAY takes 1 to 28, or -1 (the last day) to -28: every month has them")
                )
    for day in days:
        found = ORDINAL_WEEKDAY.match(day)
        if found is None or (found.group(1) and freq != "MONTHLY"):
            raise CareRuleInvalid(
                _(
                    "BYDAY takes weekdays (MO to SU); in a monthly rule also 1MO to 4MO or -1MO "
                    "to -4MO"
                )
            )
    if days and freq == "DAILY" and interval != 1:
        raise CareRuleInvalid(_("BYDAY with FREQ=DAILY needs INTERVAL=1 (or it may never occur)"))


def care_rule_start_check(starts_on: date) -> None:
    """A new entry's start: not long past (today where the elders live)."""
    today = timezone.localdate(timezone=ZoneInfo(settings.DISPLAY_TIME_ZONE))
    if starts_on < today - timedelta(days=START_MAX_DAYS_BACK):
        raise CareRuleInvalid(
            _("at most %(days)s days ago: nothing is made for the past")
            % {"days": START_MAX_DAYS_BACK}
        )


def care_rule_occurrences(
    text: str,
    *,
    starts_on: date,
    ends_on: date | None,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    limit: int,
) -> list[datetime]:
    """Occurrences in [start, end) of the rule read in `tz` (11:30 is 11:30 there), in UTC, at
    most `limit`. CareRuleInvalid for a rule out of bounds."""
    rule = care_rule_parse(text)
    first_day = max(starts_on, start.astimezone(tz).date())
    text = rule.text
    if rule.freq == "MONTHLY" and "BYDAY" not in rule.parts and "BYMONTHDAY" not in rule.parts:
        text += f";BYMONTHDAY={starts_on.day}"  # the day of the month is starts_on's
    dtstart = datetime.combine(_in_phase(rule, starts_on, first_day), time(0, 0), tzinfo=tz)
    dates = rrulestr(text, dtstart=dtstart)
    if not isinstance(dates, rrule):  # one RRULE line is never a set; this is for the types
        raise CareRuleInvalid("one RRULE line")
    found: list[datetime] = []
    for occ in dates:  # finite: every rule within the bounds occurs again within a year
        if occ >= end or len(found) >= limit or (ends_on and occ.date() > ends_on):
            break
        if occ >= start and occ.date() >= starts_on:
            found.append(occ.astimezone(ZoneInfo("UTC")))
    return found


def _in_phase(rule: CareRule, starts_on: date, day: date) -> date:
    """The latest date on or before `day` from which the rule runs as it does from `starts_on`
    (same weekday and same place in its INTERVAL; for a monthly rule the first of a month in
    step), so expansion starts near `day` however long ago the entry began."""
    if day <= starts_on:
        return starts_on
    if rule.freq == "MONTHLY":
        months = (day.year - starts_on.year) * 12 + day.month - starts_on.month
        return (starts_on + relativedelta(months=months // rule.interval * rule.interval)).replace(
            day=1
        )
    step = rule.interval * (7 if rule.freq == "WEEKLY" else 1)
    return starts_on + timedelta(days=(day - starts_on).days // step * step)


def care_rule_validator(value: str) -> None:
    """The model field's validator: the admin's forms check the same bounds as the API."""
    try:
        care_rule_parse(value)
    except CareRuleInvalid as exc:
        raise ValidationError(str(exc), code="care_rule") from None
