"""What the console shows for the codes of the domain (call and request states, an elder's
file), in words through gettext: the models' own labels are not translated."""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dispatch.models import RequestState
from hotline.models import CallState

CALL_STATES: dict[str, Any] = {
    CallState.RINGING: gettext_lazy("Arriving"),
    CallState.MENU: gettext_lazy("In the voice menu"),
    CallState.SERVED: gettext_lazy("Served by the voice menu"),
    CallState.QUEUED: gettext_lazy("Waiting for an operator"),
    CallState.CONNECTING: gettext_lazy("Taken: ringing the operator's phone"),
    CallState.CONNECTED: gettext_lazy("Talking to an operator"),
    CallState.VOICEMAIL: gettext_lazy("Leaving a message"),
    CallState.ENDED: gettext_lazy("Ended"),
}
MATCHED_ON = {
    "mobile": gettext_lazy("their own mobile"),
    "landline": gettext_lazy("their home landline"),
    "contact": gettext_lazy("an emergency contact's phone"),
}
REQUEST_STATES: dict[str, Any] = {
    RequestState.NEW: gettext_lazy("Waiting for its time"),
    RequestState.MATCHING: gettext_lazy("Matching"),
    RequestState.OFFERED: gettext_lazy("Offered"),
    RequestState.ASSIGNED: gettext_lazy("Assigned"),
    RequestState.EN_ROUTE: gettext_lazy("On the way"),
    RequestState.ON_SITE: gettext_lazy("On site"),
    RequestState.COMPLETED: gettext_lazy("Completed"),
    RequestState.CLOSED: gettext_lazy("Closed"),
    RequestState.ESCALATED: gettext_lazy("In the operator queue"),
    RequestState.FAILED: gettext_lazy("Failed"),
    RequestState.CANCELLED: gettext_lazy("Cancelled"),
}
GENDERS = {"female": gettext_lazy("Female"), "male": gettext_lazy("Male")}
LIVING = {
    "alone": gettext_lazy("Living alone"),
    "empty_nest": gettext_lazy("Empty nest"),
    "left_behind": gettext_lazy("Left behind"),
    "with_family": gettext_lazy("With family"),
}
CATEGORIES = {
    "advanced_age": gettext_lazy("Advanced age"),
    "disabled": gettext_lazy("Disabled"),
    "dementia": gettext_lazy("Dementia"),
    "low_income": gettext_lazy("Low income"),
    "extreme_poverty": gettext_lazy("Extreme poverty"),
    "family_planning": gettext_lazy("Special family-planning family"),
    "veteran": gettext_lazy("Veteran"),
}
CARE_LEVELS = {
    0: gettext_lazy("0 - ability intact"),
    1: gettext_lazy("1 - mildly impaired"),
    2: gettext_lazy("2 - moderately impaired"),
    3: gettext_lazy("3 - severely impaired"),
    4: gettext_lazy("4 - ability lost"),
}
ELDER_STATUSES = {
    "active": gettext_lazy("Active"),
    "moved": gettext_lazy("Moved away"),
    "deceased": gettext_lazy("Deceased"),
}


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
