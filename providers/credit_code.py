"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

18 characters from a 31-character alphabet (digits and capitals without I, O, Z, S, V):
registration authority (1), organisation type (1), administrative division (6), organisation
code (9, itself carrying a GB 11714 check character), and a final check character: the
weighted sum of the first 17 values with weights 3^i mod 31, then 31 minus that sum mod 31.
"""

import re

from django.utils.translation import gettext as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = [3**i % 31 for i in range(17)]
_SHAPE = re.compile(rf"^[{ALPHABET}]{{18}}$")
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


class InvalidCreditCode(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_character(first17: str) -> str:
    remainder = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 31
    return ALPHABET[(31 - remainder) % 31]


def _org_code_ok(org: str) -> bool:
    """GB 11714: eight body characters (digits, or letters valued 10-35) and a check."""

    def value(c: str) -> int:
        return int(c) if c.isdigit() else ord(c) - ord("A") + 10

    remainder = 11 - sum(value(c) * w for c, w in zip(org[:8], _ORG_WEIGHTS, strict=True)) % 11
    expected = {10: "X", 11: "0"}.get(remainder, str(remainder))
    return org[8] == expected


def parse_credit_code(raw: str) -> str:
    value = re.sub(r"[\s-]", "", raw or "").upper()
    if len(value) != 18:
        raise InvalidCreditCode(_("must be 18 characters"))
    if not _SHAPE.match(value):
        raise InvalidCreditCode(_("only digits and capitals other than I, O, Z, S, V"))
    if not value[2:8].isdigit():
        raise InvalidCreditCode(_("characters 3-8 must be an administrative division code"))
    if check_character(value[:17]) != value[17]:
        raise InvalidCreditCode(_("the check character does not match (GB 32100)"))
    if not _org_code_ok(value[8:17]):
        raise InvalidCreditCode(_("the organisation code inside it has a wrong check (GB 11714)"))
    return value
