"""Reads of alarms, always from what the caller may see: district staff see their district's."""

from django.db.models import Case, F, IntegerField, Prefetch, QuerySet, Value, When

from backend.accounts.models import User
from hotline.models import AlarmCallBack

from .models import Alarm, AlarmState, DeviceProblem, ProblemState

# The operators' order: nobody has them yet, then taken, then ended.
_STATE_RANK = Case(
    When(state=AlarmState.OPEN, then=Value(0)),
    When(state=AlarmState.ACKNOWLEDGED, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def _call_backs() -> Prefetch:
    """Each alarm's call-backs by operators (hotline/alarm_call_back.py), the latest first: one
    query for the whole page."""
    return Prefetch(
        "call_backs", queryset=AlarmCallBack.objects.select_related("operator").order_by("-pk")
    )


def alarms_for_staff(user: User) -> QuerySet[Alarm]:
    """The alarms of the staff member's district: open first, the oldest open first (it has
    waited longest), then acknowledged, then closed (the latest closed first). The caller
    checks the role."""
    return (
        Alarm.objects.filter(district_id=user.staff_district_id)
        .select_related("elder", "device", "acknowledged_by", "closed_by", "request")
        .prefetch_related(_call_backs())
        .annotate(state_rank=_STATE_RANK)
        .order_by("state_rank", F("closed_at").desc(nulls_last=True), "received_at")
    )


# Open first (the longest open first), then ended (the latest ended first).
_PROBLEM_OPEN_FIRST = Case(
    When(state=ProblemState.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
)


def device_problems_for_staff(user: User) -> QuerySet[DeviceProblem]:
    """The device problems (offline, maintenance tasks) of the staff member's district. The
    caller checks the role."""
    return (
        DeviceProblem.objects.filter(district_id=user.staff_district_id)
        .select_related("device__elder", "ended_by")
        .annotate(open_rank=_PROBLEM_OPEN_FIRST)
        .order_by("open_rank", F("ended_at").desc(nulls_last=True), "opened_at", "pk")
    )
