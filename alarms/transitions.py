"""The life of an alarm: (from state, event) -> (to state, the event's kind in the feed).

Raised open; more presses join it until it closes; one operator acknowledges it; while nobody
has, it is re-sent and, after its kind's time, dispatched by the platform; an acknowledged alarm
is dispatched only by hand; it ends closed with an `AlarmOutcome` (docs/alarms.md)."""

from .models import AlarmState

A = AlarmState
NEW = ""  # before the row exists

ALARM_TRANSITIONS: dict[tuple[str, str], tuple[str, str]] = {
    (NEW, "raise"): (A.OPEN, "alarm.raised"),
    # More presses from the device while its alarm is not closed join it.
    (A.OPEN, "press"): (A.OPEN, "alarm.pressed"),
    (A.ACKNOWLEDGED, "press"): (A.ACKNOWLEDGED, "alarm.pressed"),
    (A.OPEN, "acknowledge"): (A.ACKNOWLEDGED, "alarm.acknowledged"),
    (A.OPEN, "resend"): (A.OPEN, "alarm.resent"),
    # By the platform while nobody has acknowledged; by hand only once someone has.
    (A.OPEN, "dispatch_unacknowledged"): (A.OPEN, "alarm.dispatched"),
    (A.ACKNOWLEDGED, "dispatch"): (A.ACKNOWLEDGED, "alarm.dispatched"),
    (A.ACKNOWLEDGED, "close"): (A.CLOSED, "alarm.closed"),
}


def alarm_next(state: str, event: str) -> tuple[str, str] | None:
    return ALARM_TRANSITIONS.get((state, event))
