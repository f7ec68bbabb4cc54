"""Writes of alarms: a device's message taken in, an alarm raised or joined, a refusal told;
an operator acknowledges, dispatches help and closes it; while nobody acknowledges, the urgent
sweep re-sends it and, after its kind's time, dispatches by itself (docs/alarms.md)."""

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.core.errors import StateConflict
from backend.core.events import district_group, event_envelope, event_record, push_to_groups
from backend.core.models import Event
from dispatch.models import Channel, Priority, ServiceType
from dispatch.services import service_request_create
from elders.models import AlarmDevice
from elders.services import device_seen

from .models import (
    ALARM_KINDS,
    OPEN_STATES,
    Alarm,
    AlarmState,
    DeviceMessage,
    DeviceRefusals,
    MessageResult,
)
from .transitions import alarm_next

log = structlog.get_logger(__name__)

_Row = TypeVar("_Row", bound=Model)

# A message sent more than this after it happened is marked late (its delay is always kept).
LATE_AFTER_S = 60
# At most one refusal event per device in this many seconds; the rest are counted.
REFUSAL_REPORT_EVERY_S = 300
# The service type of the request an alarm dispatches (dispatch/catalogue.py).
EMERGENCY_SERVICE = "emergency"
# An alarm no staff member has seen yet (its push lost to a Redis outage, or nobody's socket
# open) is pushed again until one has (docs/alarms.md): first after ANNOUNCE_AGAIN_S, then
# after half the time it has waited, at most ANNOUNCE_AGAIN_MAX_S apart, so sockets that are
# behind (under load) are not fed ever more copies.
ANNOUNCE_AGAIN_S = 3
ANNOUNCE_AGAIN_MAX_S = 30


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
    alarm or joins the device's open one; a heartbeat or low battery is only kept here, and
    applied on the device lane (alarms/devices.py).

    A message already taken (same device and event_id) is returned as it was and nothing is
    written: the device lock orders concurrent repeats, the unique constraint backs it."""
    if message.kind not in ALARM_KINDS:
        return _device_report_take(device_id, message, received_at)
    with transaction.atomic():
        # No key update: a heartbeat's INSERT (its key-share check of the device) and the
        # device lane never wait for an alarm's transaction, nor an alarm for theirs. The
        # device's row alone is locked, and of the elder only its district is read.
        device = (
            AlarmDevice.objects.select_for_update(no_key=True, of=("self",))
            .select_related("elder")
            .only("elder_id", "last_heartbeat_at", "battery_pct", "elder__district_id")
            .get(pk=device_id)
        )
        taken = _one_or_none(
            DeviceMessage.objects.filter(device_id=device_id, event_id=message.event_id)
        )
        if taken is not None:
            return taken
        row = _message_row(device_id, message, received_at)
        device_seen(device=device, at=message.at, battery=message.battery)
        row.alarm, row.result = _alarm_raise_or_join(device, row)
        row.save()
    return row


def _device_report_take(device_id: int, message: MessageIn, received_at: datetime) -> DeviceMessage:
    """A heartbeat or battery report: the row is all that must be durable before the answer. No
    lock (the device's row is the alarm path's): one INSERT, its repeat found by the unique
    constraint. Nothing is sent to Redis either: what it leads to is applied on the device lane
    by a task beat sends every few seconds (alarms/tasks.py), from the rows not yet applied, so
    a storm of reports while Redis hangs costs each request nothing more than its INSERT."""
    row = _message_row(device_id, message, received_at)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        taken = DeviceMessage.objects.filter(device_id=device_id, event_id=message.event_id)
        if (first := taken.first()) is None:
            raise
        return first
    return row


def _message_row(device_id: int, message: MessageIn, received_at: datetime) -> DeviceMessage:
    delay_s = max(0, int((received_at - message.at).total_seconds()))
    return DeviceMessage(
        device_id=device_id,
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


def _one_or_none(rows: QuerySet[_Row]) -> _Row | None:
    """The row a unique constraint allows at most one of, or None: `get`, which adds no
    ordering to the query as `first` does (measurably cheaper on the intake's path)."""
    try:
        return rows.get()
    except ObjectDoesNotExist:
        return None


def _alarm_raise_or_join(device: AlarmDevice, row: DeviceMessage) -> tuple[Alarm, str]:
    """Precondition: the caller holds the device's row lock (so its open alarm cannot change)."""
    alarm = _one_or_none(Alarm.objects.filter(device_id=device.pk, state__in=OPEN_STATES))
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
        **_deadlines(row.kind, row.received_at),
    )
    _alarm_move(alarm, "raise", data=_message_data(row))
    return alarm, MessageResult.OPENED


def _deadlines(kind: str, received_at: datetime) -> dict[str, datetime]:
    ack_due_at = received_at + timedelta(seconds=settings.ANXIN["ALARM_ACK_WITHIN_S"])
    dispatch_after = timedelta(seconds=settings.ANXIN["ALARM_DISPATCH_AFTER_S"][kind])
    return {
        "announce_at": received_at + timedelta(seconds=ANNOUNCE_AGAIN_S),
        "ack_due_at": ack_due_at,
        "resend_at": ack_due_at,
        "dispatch_due_at": received_at + dispatch_after,
    }


def _alarm_locked(alarm_id: int) -> Alarm:
    return (
        Alarm.objects.select_for_update(of=("self",))
        .select_related("acknowledged_by", "closed_by", "request")
        .get(pk=alarm_id)
    )


def _name(user: User | None) -> str:
    return user.username if user else _("the system")


def alarm_acknowledge(*, alarm_id: int, user: User) -> Alarm:
    """One operator takes the alarm: it is no longer re-sent nor dispatched by the platform.
    Anyone after gets 409 naming who took it."""
    with transaction.atomic():
        alarm = _alarm_locked(alarm_id)
        now = timezone.now()
        if alarm.acknowledged_by_id is not None:
            raise StateConflict(
                _("Already acknowledged by %(name)s.") % {"name": _name(alarm.acknowledged_by)},
                current_state=alarm.state,
                code="alarm_acknowledged",
                acknowledged_by=alarm.acknowledged_by.username if alarm.acknowledged_by else None,
            )
        _alarm_move(
            alarm,
            "acknowledge",
            actor=user,
            data={"responsible": user.username},
            acknowledged_by=user,
            acknowledged_at=now,
            # Whoever acknowledges has seen it, even if no push or listing recorded that.
            shown_at=alarm.shown_at or now,
            announce_at=None,
            resend_at=None,
            dispatch_due_at=None,
        )
    return alarm


def alarm_close(*, alarm_id: int, user: User, outcome: str, note: str = "") -> Alarm:
    """End an acknowledged alarm with its outcome (an `AlarmOutcome`, checked by the caller's
    input) and the operator who closed it; the device's next press opens a new alarm."""
    with transaction.atomic():
        alarm = _alarm_locked(alarm_id)
        if alarm.state == AlarmState.CLOSED:
            raise StateConflict(
                _("Already closed (%(outcome)s) by %(name)s.")
                % {"outcome": alarm.outcome, "name": _name(alarm.closed_by)},
                current_state=alarm.state,
                code="alarm_closed",
            )
        _alarm_move(
            alarm,
            "close",
            actor=user,
            data={"outcome": outcome, "note": note},
            outcome=outcome,
            outcome_note=note,
            closed_by=user,
            closed_at=timezone.now(),
            announce_at=None,
            resend_at=None,
            dispatch_due_at=None,
        )
    return alarm


def alarm_dispatch(*, alarm_id: int, user: User) -> Alarm:
    """The operator who acknowledged (or any of the district's staff, once it is acknowledged)
    sends help: the same emergency request the platform sends by itself, at most one."""
    with transaction.atomic():
        alarm = _alarm_locked(alarm_id)
        if alarm.request is not None:
            raise StateConflict(
                _("Help was already dispatched for this alarm: request %(reference)s.")
                % {"reference": alarm.request.reference},
                current_state=alarm.state,
                code="alarm_dispatched",
                request=alarm.request_id,
            )
        _dispatch(alarm, "dispatch", actor=user)
    return alarm


def _dispatch(alarm: Alarm, event: str, *, actor: User | None) -> None:
    """An emergency request for the elder through dispatch's own intake (its offers, the
    family's SMS and the contacts' call-out follow from there), linked to the alarm.

    Precondition: the caller holds the alarm's lock and has seen it has no request yet (the
    one-to-one link backs it)."""
    sr = service_request_create(
        elder=alarm.elder,
        service_type=ServiceType.objects.get(code=EMERGENCY_SERVICE),
        channel=Channel.ALARM,
        caller=actor,
        priority=Priority.EMERGENCY,
        notes=f"alarm {alarm.pk}: {alarm.kind}",
    )
    _alarm_move(
        alarm,
        event,
        actor=actor,
        data={"request": sr.pk, "reference": sr.reference, "automatic": actor is None},
        request=sr,
        dispatched_at=timezone.now(),
        dispatch_due_at=None,
    )


def alarms_due_for_resend(now: datetime) -> QuerySet[Alarm]:
    return Alarm.objects.filter(state=AlarmState.OPEN, resend_at__lte=now)


def alarm_resend(*, alarm_id: int) -> bool:
    """Re-send an alarm nobody acknowledged in time to every operator and the district's
    supervisors, and set the next re-send. False if someone took it meanwhile, or holds it."""
    with transaction.atomic():
        alarm = (
            alarms_due_for_resend(timezone.now())
            .select_for_update(skip_locked=True, of=("self",))
            .filter(pk=alarm_id)
            .first()
        )
        if alarm is None:
            return False
        supervisors = list(
            User.objects.filter(
                district_id=alarm.district_id,
                role__in=[Role.SUPERVISOR, Role.DISTRICT_ADMIN],
                is_active=True,
            ).values_list("pk", flat=True)
        )
        every = timedelta(seconds=settings.ANXIN["ALARM_ACK_WITHIN_S"])
        _alarm_move(
            alarm,
            "resend",
            recipients=supervisors,
            data={"resent": alarm.resent + 1},
            resent=alarm.resent + 1,
            resend_at=timezone.now() + every,
        )
        return True


def alarms_shown(*, alarm_ids: Iterable[int], at: datetime) -> int:
    """The staff have seen these alarms (on a socket, in their queue): the first time is kept,
    and they are no longer announced again. One UPDATE; the count of those newly seen."""
    return Alarm.objects.filter(pk__in=list(alarm_ids), shown_at__isnull=True).update(
        shown_at=at, announce_at=None
    )


def alarms_listed(alarms: Iterable[Alarm]) -> int:
    """A staff member was shown these alarms in a list (the API's queue, the console's): the
    ones nobody had seen are seen now (the figures' "received to visible" for an alarm whose
    push never reached a socket). Only what was really shown counts."""
    unseen = [alarm.pk for alarm in alarms if alarm.shown_at is None]
    return alarms_shown(alarm_ids=unseen, at=timezone.now()) if unseen else 0


# Alarms this process has already recorded as seen: each later delivery (another operator's
# socket, a re-announcement) costs no query. Bounded; forgetting one costs one no-op UPDATE.
_SEEN_HERE: dict[int, None] = {}
_SEEN_HERE_MAX = 4096
_seen_lock = threading.Lock()


def _unseen_here(user: User, envelope: dict[str, Any]) -> int | None:
    """The alarm a delivery to `user` would newly make seen, as far as this process knows;
    None if the socket does not count (not active staff) or this process recorded it already.
    No query: the socket's loop asks it before handing a delivery to a thread."""
    if not (user.is_district_staff and user.is_active):
        return None
    alarm_id = envelope.get("data", {}).get("subject", {}).get("id")
    if not isinstance(alarm_id, int):
        return None
    with _seen_lock:
        return None if alarm_id in _SEEN_HERE else alarm_id


def alarm_delivery_counts(user: User, envelope: dict[str, Any]) -> bool:
    return _unseen_here(user, envelope) is not None


def alarm_delivered(user: User, envelope: dict[str, Any]) -> None:
    """A push of an alarm reached a staff member's socket (backend/core/realtime.py)."""
    alarm_id = _unseen_here(user, envelope)
    if alarm_id is None:
        return
    at = timezone.now()
    alarms_shown(alarm_ids=[alarm_id], at=at)  # may raise: then remembered only next time
    with _seen_lock:
        _SEEN_HERE[alarm_id] = None
        while len(_SEEN_HERE) > _SEEN_HERE_MAX:
            del _SEEN_HERE[next(iter(_SEEN_HERE))]


def announce_again_after(waited: timedelta) -> timedelta:
    seconds = waited.total_seconds() / 2
    return timedelta(seconds=min(ANNOUNCE_AGAIN_MAX_S, max(ANNOUNCE_AGAIN_S, seconds)))


def alarms_due_for_announce(now: datetime) -> QuerySet[Alarm]:
    return Alarm.objects.filter(state=AlarmState.OPEN, shown_at__isnull=True, announce_at__lte=now)


def alarm_announce(*, alarm_id: int) -> bool:
    """Push an alarm nobody has seen yet again: its own `alarm.raised` event, the same id, so a
    client that already has it shows it once. False if it was seen meanwhile, or is held."""
    with transaction.atomic():
        now = timezone.now()
        alarm = (
            alarms_due_for_announce(now)
            .select_for_update(skip_locked=True, of=("self",))
            .filter(pk=alarm_id)
            .first()
        )
        if alarm is None:
            return False
        raised = Event.objects.filter(
            subject_type="alarm", subject_id=alarm.pk, kind="alarm.raised"
        ).first()
        alarm.announce_at = now + announce_again_after(now - alarm.received_at)
        alarm.save(update_fields=["announce_at"])
        if raised is not None:
            envelope = event_envelope(raised)
            groups = [district_group(alarm.district_id)]
            transaction.on_commit(lambda: push_to_groups(groups, envelope), robust=True)
        waited_s = int((now - alarm.received_at).total_seconds())
        log.info("alarm_announced_again", alarm=alarm.pk, waited_s=waited_s)
        return True


def alarms_due_for_dispatch(now: datetime) -> QuerySet[Alarm]:
    return Alarm.objects.filter(
        state=AlarmState.OPEN, request__isnull=True, dispatch_due_at__lte=now
    )


def alarm_dispatch_overdue(*, alarm_id: int) -> bool:
    """Nobody acknowledged the alarm within its kind's time: the platform dispatches, once.
    False if someone acknowledged it or it was dispatched meanwhile, or another holds it."""
    with transaction.atomic():
        alarm = (
            alarms_due_for_dispatch(timezone.now())
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("elder")
            .filter(pk=alarm_id)
            .first()
        )
        if alarm is None:
            return False
        _dispatch(alarm, "dispatch_unacknowledged", actor=None)
        return True


def _alarm_move(
    alarm: Alarm,
    event: str,
    *,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
    recipients: Iterable[int] = (),
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
        recipients=recipients,
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
