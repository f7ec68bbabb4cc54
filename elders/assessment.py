"""Scoring of ability assessments.

GB/T 42195-2022 (老年人能力评估规范) scores four dimensions, 90 points in all: self-care
(自理能力, 0-32), basic motor ability (基础运动能力, 0-16), mental state (精神状态, 0-30), and
perception and social participation (感知觉与社会参与, 0-12). The total gives the level:
90 intact, 66-89 mild, 46-65 moderate, 30-45 severe, 0-29 total loss; a person in a coma is
placed at total loss whatever the score.

The Barthel index has ten items with fixed allowed scores, 0-100 in all.
"""

from django.utils.translation import gettext as _

from .models import CareLevel

DIMENSION_MAX = {"self_care": 32, "basic_motor": 16, "mental_state": 30, "perception_social": 12}

# (lowest total, level), highest band first
_LEVEL_BANDS = [
    (90, CareLevel.INTACT),
    (66, CareLevel.MILD),
    (46, CareLevel.MODERATE),
    (30, CareLevel.SEVERE),
    (0, CareLevel.TOTAL),
]

BARTHEL_ITEMS: dict[str, tuple[int, ...]] = {
    "feeding": (0, 5, 10),
    "bathing": (0, 5),
    "grooming": (0, 5),
    "dressing": (0, 5, 10),
    "bowels": (0, 5, 10),
    "bladder": (0, 5, 10),
    "toilet_use": (0, 5, 10),
    "transfers": (0, 5, 10, 15),
    "mobility": (0, 5, 10, 15),
    "stairs": (0, 5, 10),
}


def gb_level(total: int, *, unconscious: bool = False) -> CareLevel:
    if unconscious:
        return CareLevel.TOTAL
    for lowest, level in _LEVEL_BANDS:
        if total >= lowest:
            return level
    raise ValueError(f"total {total} is below zero")


def barthel_errors(items: dict) -> dict[str, str]:
    """Every problem with a Barthel answer sheet, by item; empty when it is valid."""
    errors = {}
    for name in sorted(set(items) - set(BARTHEL_ITEMS)):
        errors[name] = _("not a Barthel item")
    for name, allowed in BARTHEL_ITEMS.items():
        if name not in items:
            errors[name] = _("missing")
        elif items[name] not in allowed:
            errors[name] = _("must be one of %(values)s") % {"values": ", ".join(map(str, allowed))}
    return errors


def barthel_total(items: dict[str, int]) -> int:
    return sum(items[name] for name in BARTHEL_ITEMS)
