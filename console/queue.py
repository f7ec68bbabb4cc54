"""The operators' live queue: everything waiting for a person in the staff member's district, in
one list, most urgent first and, within the same urgency, what nobody has taken before what
someone has, the oldest first.

The items come from each app's own selector (what a district's staff may see is decided there):
open alarms, callers waiting on the line, call-backs to make, alerts not yet resolved (an
escalated request is in the queue through its `no_worker` alert), and escalated requests with
no unresolved alert (nobody goes yet, whatever became of the alert)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Case, F, IntegerField, Value, When

from alarms import services as alarm_services
from alarms.models import OPEN_STATES as ALARM_OPEN_STATES
from alarms.models import Alarm, AlarmState
from alarms.selectors import alarms_for_staff
from backend.accounts.models import User
from dispatch.models import Priority, RequestState
from dispatch.selectors import alerts_for_staff, requests_visible_to
from hotline.models import CallPriority
from hotline.selectors import call_backs_visible_to, calls_waiting

# Urgency bands, the queue's first order: a life may be at stake; someone is waiting (on the
# line, or for help that has not come); the rest.
EMERGENCY, URGENT, ROUTINE = 0, 1, 2


@dataclass(frozen=True)
class Item:
    kind: str  # "alarm", "call", "callback", "alert" or "request": the template of its row
    pk: int
    band: int
    taken: bool
    since: datetime  # what the row's clock counts from
    due: datetime | None  # the target it counts down to, while nobody has taken it
    row: Any

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.pk}"

    @property
    def band_name(self) -> str:
        return ("emergency", "urgent", "routine")[self.band]


def _order(item: Item) -> tuple[int, bool, datetime, str, int]:
    return (item.band, item.taken, item.since, item.kind, item.pk)


@dataclass(frozen=True)
class Queue:
    items: list[Item]
    more: int  # waiting beyond the list's length: the page says so

    @property
    def emergencies_waiting(self) -> int:
        """Emergencies nobody has taken (alarms, emergency callers, alerts on emergencies): the
        console flashes while there are any, and rings when a new one appears."""
        return sum(1 for item in self.items if item.band == EMERGENCY and not item.taken)


_REQUEST_BAND = Case(
    When(priority=Priority.EMERGENCY, then=Value(EMERGENCY)),
    When(priority=Priority.URGENT, then=Value(URGENT)),
    default=Value(ROUTINE),
    output_field=IntegerField(),
)

# Each source is read in the queue's own order (urgency, then nobody's first, then oldest), so
# cutting it at the limit keeps what matters most.
_ALERT_BAND = Case(
    When(request__priority=Priority.EMERGENCY, then=Value(EMERGENCY)),
    When(request__priority=Priority.URGENT, then=Value(URGENT)),
    default=Value(ROUTINE),
    output_field=IntegerField(),
)


def queue_items(user: User, *, limit: int = 200) -> Queue:
    """The queue as `user` (district staff) sees it now, at most `limit` rows. The open alarms
    listed count as seen (as the API's alarm queue does): an alarm on an operator's screen is
    not announced again; one left off the list is."""
    alarms = list(alarms_for_staff(user).filter(state__in=ALARM_OPEN_STATES)[: limit + 1])
    items = [_alarm(alarm) for alarm in alarms]
    items += [
        Item(
            "call",
            call.pk,
            EMERGENCY if call.priority == CallPriority.EMERGENCY else URGENT,
            False,
            call.queued_at or call.arrived_at,
            None,
            call,
        )
        for call in calls_waiting(user)[: limit + 1]
    ]
    call_backs = call_backs_visible_to(user).order_by(
        F("taken_by_id").asc(nulls_first=True), "created_at", "pk"
    )
    items += [
        Item("callback", back.pk, ROUTINE, bool(back.taken_by_id), back.created_at, None, back)
        for back in call_backs[: limit + 1]
    ]
    unresolved = alerts_for_staff(user).filter(resolved_at__isnull=True)
    alerts = (
        unresolved.select_related("request__elder", "request__service_type")
        .annotate(band=_ALERT_BAND)
        .order_by("band", F("acknowledged_at").asc(nulls_first=True), "raised_at", "pk")
    )
    items += [
        Item(
            "alert",
            alert.pk,
            alert.band,
            alert.acknowledged_by_id is not None,
            alert.raised_at,
            _alert_due(alert),
            alert,
        )
        for alert in alerts[: limit + 1]
    ]
    # Work in the operator queue whose alert was resolved (or never raised) while nobody goes:
    # it stays here until it leaves the queue's state.
    escalated = (
        requests_visible_to(user)
        .filter(state=RequestState.ESCALATED)
        .exclude(pk__in=unresolved.values("request_id"))
        .select_related("elder", "service_type")
        .annotate(band=_REQUEST_BAND)
        .order_by("band", "state_changed_at", "pk")
    )
    items += [
        Item("request", sr.pk, sr.band, False, sr.state_changed_at, _request_due(sr), sr)
        for sr in escalated[: limit + 1]
    ]
    ordered = sorted(items, key=_order)
    shown = ordered[:limit]
    alarm_services.alarms_listed(item.row for item in shown if item.kind == "alarm")
    return Queue(items=shown, more=_count(user) - len(shown) if len(ordered) > limit else 0)


def _count(user: User) -> int:
    """Everything waiting, however long the list: what the page says is left off."""
    unresolved = alerts_for_staff(user).filter(resolved_at__isnull=True)
    return (
        alarms_for_staff(user).filter(state__in=ALARM_OPEN_STATES).count()
        + calls_waiting(user).count()
        + call_backs_visible_to(user).count()
        + unresolved.count()
        + requests_visible_to(user)
        .filter(state=RequestState.ESCALATED)
        .exclude(pk__in=unresolved.values("request_id"))
        .count()
    )


def _alarm(alarm: Alarm) -> Item:
    taken = alarm.state == AlarmState.ACKNOWLEDGED
    due = None if taken else alarm.ack_due_at
    return Item("alarm", alarm.pk, EMERGENCY, taken, alarm.received_at, due, alarm)


def _alert_due(alert: Any) -> datetime | None:
    return _request_due(alert.request)


def _request_due(sr: Any) -> datetime | None:
    """The request's next target while it is not met: acceptance, then arrival."""
    if sr.accepted_at is None:
        return sr.accept_due_at
    if sr.arrived_at is None:
        return sr.arrive_due_at
    return None
