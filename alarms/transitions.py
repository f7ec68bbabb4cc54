"""The life of an alarm: (from state, event) -> (to state, the event's kind in the feed).

This slice raises alarms and joins presses to them; acknowledgement, re-sending, automatic
dispatch and closing with an `AlarmOutcome` are added here when they land (docs/alarms.md)."""

from .models import AlarmState

A = AlarmState
NEW = ""  # before the row exists

ALARM_TRANSITIONS: dict[tuple[str, str], tuple[str, str]] = {
    (NEW, "raise"): (A.OPEN, "alarm.raised"),
    # More presses from the device while its alarm is open join it.
    (A.OPEN, "press"): (A.OPEN, "alarm.pressed"),
}


def alarm_next(state: str, event: str) -> tuple[str, str] | None:
    return ALARM_TRANSITIONS.get((state, event))
