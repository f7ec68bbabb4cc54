"""Resident identity numbers (居民身份证号码, GB 11643-1999).

18 characters: 6-digit address code, 8-digit birth date (YYYYMMDD), 3-digit sequence (odd for
men, even for women), and a check character from ISO 7064 MOD 11-2 over the first 17 digits
('X' stands for 10).

No masked form is kept or shown: its last four characters beside the birth date and the
division code leave a single possible number (issue 10). Callers are confirmed by
`elders.services.elder_id_number_check` instead.
"""

import re
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


class InvalidIdNumber(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: date
    gender: str  # "male" or "female"


def check_character(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalise(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw or "").upper()


def parse_id_number(raw: str, *, today: date | None = None) -> IdNumber:
    value = normalise(raw)
    if not _SHAPE.match(value):
        raise InvalidIdNumber(_("must be 17 digits and a final digit or X"))
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber(_("the birth date inside it does not exist")) from None
    if born.year < 1880 or born > (today or date.today()):
        raise InvalidIdNumber(_("the birth date inside it is impossible"))
    if check_character(value[:17]) != value[17]:
        raise InvalidIdNumber(_("the check character does not match (ISO 7064 MOD 11-2)"))
    gender = "male" if int(value[16]) % 2 else "female"
    return IdNumber(value=value, birth_date=born, gender=gender)


def age_today(born: date | None) -> int | None:
    """Age in whole years on today's date where the elders live (`DISPLAY_TIME_ZONE`)."""
    if born is None:
        return None
    today = timezone.localdate(timezone=ZoneInfo(settings.DISPLAY_TIME_ZONE))
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
