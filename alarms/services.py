"""Writes of alarms: a device's message taken in, an alarm raised or joined, a refusal told."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import StateConflict
from backend.core.events import event_record
from elders.models import AlarmDevice
from elders.services import device_seen

from .models import (
    ALARM_KINDS,
    OPEN_STATES,
    Alarm,
    DeviceMessage,
    DeviceRefusals,
    MessageKind,
    MessageResult,
)
from .transitions import alarm_next

log = structlog.get_logger(__name__)

# A message sent more than this after it happened is marked late (its delay is always kept).
LATE_AFTER_S = 60
# At most one refusal event per device in this many seconds; the rest are counted.
REFUSAL_REPORT_EVERY_S = 300


@dataclass(frozen=True)
class MessageIn:
    event_id: uuid.UUID
    kind: str
    at: datetime
    location: tuple[float, float] | None
    battery: int | None


def device_message_take(
    *, device_id: int, message: MessageIn, received_at: datetime
) -> DeviceMessage:
    """Keep a device's signed message and act on it, in one transaction: an alarm kind opens an
    alarm or joins the device's open one; a heartbeat or low battery is recorded on the device.

    A message already taken (same device and event_id) is returned as it was and nothing is
    written: the device lock orders concurrent repeats, the unique constraint backs it."""
    with transaction.atomic():
        device = AlarmDevice.objects.select_for_update().select_related("elder").get(pk=device_id)
        taken = DeviceMessage.objects.filter(device=device, event_id=message.event_id).first()
        if taken is not None:
            return taken
        delay_s = max(0, int((received_at - message.at).total_seconds()))
        row = DeviceMessage(
            device=device,
            event_id=message.event_id,
            kind=message.kind,
            at=message.at,
            received_at=received_at,
            delay_s=delay_s,
            late=delay_s > LATE_AFTER_S,
            battery=message.battery,
            location=Point(*message.location, srid=4326) if message.location else None,
            result=MessageResult.RECORDED,
        )
        device_seen(device=device, at=message.at, battery=message.battery)
        if message.kind in ALARM_KINDS:
            row.alarm, row.result = _alarm_raise_or_join(device, row)
        elif message.kind == MessageKind.LOW_BATTERY:
            _device_record(device, "device.low_battery", {"battery": message.battery})
        row.save()
    return row


def _alarm_raise_or_join(device: AlarmDevice, row: DeviceMessage) -> tuple[Alarm, str]:
    """Precondition: the caller holds the device's row lock (so its open alarm cannot change)."""
    alarm = Alarm.objects.filter(device=device, state__in=OPEN_STATES).first()
    if alarm is not None:
        _alarm_move(
            alarm,
            "press",
            data=_message_data(row),
            presses=alarm.presses + 1,
            last_press_at=max(alarm.last_press_at, row.at),
        )
        return alarm, MessageResult.JOINED
    alarm = Alarm(
        device=device,
        elder=device.elder,
        district_id=device.elder.district_id,
        kind=row.kind,
        state="",
        raised_at=row.at,
        received_at=row.received_at,
        delay_s=row.delay_s,
        late=row.late,
        last_press_at=row.at,
        location=row.location,
    )
    _alarm_move(alarm, "raise", data=_message_data(row))
    return alarm, MessageResult.OPENED


def _alarm_move(
    alarm: Alarm,
    event: str,
    *,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """The one place an alarm changes state, with its audit row and push after commit.

    Precondition: the caller holds the alarm's row lock (or the device's, for a new one)."""
    before = alarm.state
    step = alarm_next(before, event)
    if step is None:
        raise StateConflict(
            _("Cannot %(event)s an alarm that is %(state)s") % {"event": event, "state": before},
            current_state=before,
            code="alarm_state_conflict",
        )
    alarm.state, kind = step
    for name, value in fields.items():
        setattr(alarm, name, value)
    if alarm.pk is None:
        alarm.save()
    else:
        alarm.save(update_fields=["state", *fields])
    event_record(
        kind=kind,
        subject_type="alarm",
        subject_id=alarm.pk,
        actor=actor,
        before=before,
        after=alarm.state,
        district_id=alarm.district_id,
        data={
            "event": event,
            "alarm_kind": alarm.kind,
            "elder_id": alarm.elder_id,
            "device_id": alarm.device_id,
            "presses": alarm.presses,
            **(data or {}),
        },
    )


def _message_data(row: DeviceMessage) -> dict[str, Any]:
    return {
        "event_id": str(row.event_id),
        "kind": row.kind,
        "at": row.at.isoformat(),
        "received_at": row.received_at.isoformat(),
        "late": row.late,
        "delay_s": row.delay_s,
        "location": {"type": "Point", "coordinates": list(row.location.coords)}
        if row.location
        else None,
        "battery": row.battery,
    }


def _device_record(device: AlarmDevice, kind: str, data: dict[str, Any]) -> None:
    event_record(
        kind=kind,
        subject_type="device",
        subject_id=device.pk,
        district_id=device.elder.district_id,
        data={"serial": device.serial, "elder_id": device.elder_id, **data},
    )


def device_refusal_report(*, device_id: int, reason: str, at: datetime) -> None:
    """Tell the device's district staff that a message from it was refused (`device.refused`),
    at most once per REFUSAL_REPORT_EVERY_S per device; the refusals in between are counted and
    given with the next report."""
    with transaction.atomic():
        DeviceRefusals.objects.get_or_create(device_id=device_id)
        tally = DeviceRefusals.objects.select_for_update().select_related("device__elder")
        refusals = tally.get(device_id=device_id)
        quiet = refusals.reported_at and at - refusals.reported_at < timedelta(
            seconds=REFUSAL_REPORT_EVERY_S
        )
        if quiet:
            refusals.held_back += 1
            refusals.save(update_fields=["held_back"])
            return
        _device_record(
            refusals.device,
            "device.refused",
            {"reason": reason, "held_back_since_last": refusals.held_back},
        )
        refusals.reported_at, refusals.held_back = at, 0
        refusals.save(update_fields=["reported_at", "held_back"])
