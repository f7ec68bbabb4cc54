"""What the console shows for the codes of the domain (call and request states, an elder's
file): the models' own choice labels, translated where they are defined, and the words for
the elder's file."""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dispatch.models import RequestState
from elders.models import CareLevel, Category, ElderStatus, Gender, LivingArrangement
from hotline.models import CallState

# The models' own labels (translated where they are defined): one name for each code.
CALL_STATES: dict[str, Any] = dict(CallState.choices)
MATCHED_ON = {
    "mobile": gettext_lazy("their own mobile"),
    "landline": gettext_lazy("their home landline"),
    "contact": gettext_lazy("an emergency contact's phone"),
}
REQUEST_STATES: dict[str, Any] = dict(RequestState.choices)
GENDERS = dict(Gender.choices)
LIVING = dict(LivingArrangement.choices)
CATEGORIES = dict(Category.choices)
CARE_LEVELS = dict(CareLevel.choices)
ELDER_STATUSES = dict(ElderStatus.choices)


def yes_no(value: Any) -> str:
    return _("yes") if value else _("no")


# The file's lines, in the order shown, each shown only when the role's serializer gave it.
FILE_ROWS: list[tuple[str, Any, Any]] = [
    ("gender", gettext_lazy("Gender"), GENDERS.get),
    ("age", gettext_lazy("Age"), str),
    ("birth_date", gettext_lazy("Birth date"), str),
    ("address", gettext_lazy("Address"), str),
    ("phone", gettext_lazy("Mobile"), str),
    ("landline", gettext_lazy("Landline"), str),
    ("care_level", gettext_lazy("Care level"), CARE_LEVELS.get),
    ("living_arrangement", gettext_lazy("Living"), LIVING.get),
    (
        "categories",
        gettext_lazy("Categories"),
        lambda v: ", ".join(str(CATEGORIES.get(c, c)) for c in v),
    ),
    ("status", gettext_lazy("Status"), ELDER_STATUSES.get),
    ("has_id_number", gettext_lazy("ID number on file"), yes_no),
    ("next_assessment_due", gettext_lazy("Next assessment due"), str),
]


def file_rows(data: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, label, shown in FILE_ROWS:
        value = data.get(key)
        if key in data and value not in (None, "", []):
            rows.append((str(label), str(shown(value) or value)))
    return rows
