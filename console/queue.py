"""The operators' live queue: everything waiting for a person in the staff member's district, in
one list, most urgent first and, within the same urgency, what nobody has taken before what
someone has, the oldest first.

The items come from each app's own selector (what a district's staff may see is decided there):
open alarms, callers waiting on the line, call-backs to make, and alerts not yet resolved (an
escalated request is in the queue through its `no_worker` alert)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from alarms import services as alarm_services
from alarms.models import OPEN_STATES as ALARM_OPEN_STATES
from alarms.models import Alarm, AlarmState
from alarms.selectors import alarms_for_staff
from backend.accounts.models import User
from dispatch.models import Priority
from dispatch.selectors import alerts_for_staff
from hotline.models import CallPriority
from hotline.selectors import call_backs_visible_to, calls_waiting

# Urgency bands, the queue's first order: a life may be at stake; someone is waiting (on the
# line, or for help that has not come); the rest.
EMERGENCY, URGENT, ROUTINE = 0, 1, 2
_BAND_OF_PRIORITY: dict[str, int] = {Priority.EMERGENCY: EMERGENCY, Priority.URGENT: URGENT}


@dataclass(frozen=True)
class Item:
    kind: str  # "alarm", "call", "callback" or "alert": the template of its row
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


def queue_items(user: User, *, limit: int = 200) -> list[Item]:
    """The queue as `user` (district staff) sees it now. Listing open alarms counts as their
    being seen (as the API's alarm queue does): an alarm on an operator's screen is not announced
    again."""
    alarms = list(alarms_for_staff(user).filter(state__in=ALARM_OPEN_STATES)[:limit])
    unseen = [alarm.pk for alarm in alarms if alarm.shown_at is None]
    if unseen:
        alarm_services.alarms_shown(alarm_ids=unseen, at=timezone.now())
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
        for call in calls_waiting(user)[:limit]
    ]
    items += [
        Item("callback", back.pk, ROUTINE, bool(back.taken_by_id), back.created_at, None, back)
        for back in call_backs_visible_to(user)[:limit]
    ]
    alerts = (
        alerts_for_staff(user)
        .filter(resolved_at__isnull=True)
        .select_related("request__elder", "request__service_type")
        .order_by("raised_at")[:limit]
    )
    items += [
        Item(
            "alert",
            alert.pk,
            _BAND_OF_PRIORITY.get(alert.request.priority, ROUTINE),
            alert.acknowledged_by_id is not None,
            alert.raised_at,
            _alert_due(alert),
            alert,
        )
        for alert in alerts
    ]
    return sorted(items, key=_order)[:limit]


def _alarm(alarm: Alarm) -> Item:
    taken = alarm.state == AlarmState.ACKNOWLEDGED
    due = None if taken else alarm.ack_due_at
    return Item("alarm", alarm.pk, EMERGENCY, taken, alarm.received_at, due, alarm)


def _alert_due(alert: Any) -> datetime | None:
    """The request's next target while it is not met: acceptance, then arrival."""
    sr = alert.request
    if sr.accepted_at is None:
        return sr.accept_due_at
    if sr.arrived_at is None:
        return sr.arrive_due_at
    return None


def open_alarm_count(items: list[Item]) -> int:
    """Alarms nobody has acknowledged: the console flashes (or rings) while there are any."""
    return sum(1 for item in items if item.kind == "alarm" and not item.taken)
