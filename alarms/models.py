"""Alarms from devices on elders (一键通 buttons, watches, fall detectors, smoke and gas sensors).

Every message a device sends and the platform accepts is a `DeviceMessage`, once per
(device, event_id): the unique constraint is what makes a repeat create nothing. A message of
an alarm kind opens an `Alarm`, or joins the device's open one.
"""

from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy


class MessageKind(models.TextChoices):
    SOS = "sos", gettext_lazy("SOS button pressed (一键呼叫)")
    FALL = "fall", gettext_lazy("Fall detected")
    NO_MOVEMENT = "no_movement", gettext_lazy("No movement for too long")
    SMOKE = "smoke", gettext_lazy("Smoke")
    GAS = "gas", gettext_lazy("Gas")
    LOW_BATTERY = "low_battery", gettext_lazy("Low battery")
    HEARTBEAT = "heartbeat", gettext_lazy("Heartbeat")


# The kinds that are alarms; the others (heartbeat, low_battery) are recorded on the device.
ALARM_KINDS = frozenset(
    {MessageKind.SOS, MessageKind.FALL, MessageKind.NO_MOVEMENT, MessageKind.SMOKE, MessageKind.GAS}
)


class AlarmState(models.TextChoices):
    OPEN = "open", gettext_lazy("Open, nobody has acknowledged it")
    ACKNOWLEDGED = "acknowledged", gettext_lazy("Acknowledged by an operator")
    CLOSED = "closed", gettext_lazy("Closed with an outcome")


# The states in which more messages from the device join the alarm (one per device at most);
# after it closes, the device's next press opens a new alarm.
OPEN_STATES = (AlarmState.OPEN, AlarmState.ACKNOWLEDGED)


class AlarmOutcome(models.TextChoices):
    """How an alarm ends; recorded with the operator who closes it."""

    FALSE_ALARM = "false_alarm", gettext_lazy("False alarm (误报)")
    HELP_ON_SITE = "help_on_site", gettext_lazy("Help on site")
    CALLED_120 = "called_120", gettext_lazy("120 called")
    CALLED_119 = "called_119", gettext_lazy("119 called")
    TAKEN_TO_HOSPITAL = "taken_to_hospital", gettext_lazy("Taken to hospital")
    OTHER = "other", gettext_lazy("Other")


class MessageResult(models.TextChoices):
    OPENED = "opened", "Opened an alarm"
    JOINED = "joined", "Joined the device's open alarm"
    RECORDED = "recorded", "Recorded on the device"


class Alarm(models.Model):
    device = models.ForeignKey(
        "elders.AlarmDevice", on_delete=models.PROTECT, related_name="alarms"
    )
    elder = models.ForeignKey("elders.Elder", on_delete=models.PROTECT, related_name="alarms")
    district = models.ForeignKey("accounts.District", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=15, choices=MessageKind.choices)
    state = models.CharField(max_length=15, choices=AlarmState.choices)
    raised_at = models.DateTimeField(help_text="When it happened, by the device's clock")
    received_at = models.DateTimeField(help_text="When the platform received it")
    delay_s = models.PositiveIntegerField(help_text="received_at - raised_at, at least 0")
    late = models.BooleanField(help_text="Sent more than LATE_AFTER_S after it happened")
    presses = models.PositiveIntegerField(default=1, help_text="Messages that joined, the first")
    last_press_at = models.DateTimeField(help_text="The latest message's time, device's clock")
    location = models.PointField(srid=4326, null=True, blank=True, help_text="WGS-84")
    # Seen: the first time the alarm reached a staff member's socket or their queue (the
    # figures' "received to visible"); until then it is announced again from `announce_at`.
    shown_at = models.DateTimeField(null=True, blank=True)
    announce_at = models.DateTimeField(
        null=True, blank=True, help_text="Pushed again then, while no staff member has seen it"
    )
    # Verify, then dispatch: the deadlines the urgent sweep acts on, cleared once they no
    # longer apply (docs/alarms.md).
    ack_due_at = models.DateTimeField(help_text="Target: acknowledged by then")
    resend_at = models.DateTimeField(
        null=True, blank=True, help_text="Re-sent to all operators then, while unacknowledged"
    )
    resent = models.PositiveIntegerField(default=0)
    dispatch_due_at = models.DateTimeField(
        null=True, blank=True, help_text="Dispatched by the platform then, while unacknowledged"
    )
    acknowledged_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    request = models.OneToOneField(
        "dispatch.ServiceRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alarm",
        help_text="The emergency request dispatched for it (at most one)",
    )
    dispatched_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=AlarmOutcome.choices, blank=True)
    outcome_note = models.TextField(blank=True)
    closed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["device"], condition=Q(state__in=OPEN_STATES), name="alarm_one_open"
            ),
        ]
        indexes = [
            models.Index(fields=["district", "state", "received_at"], name="alarm_district_state"),
            # The figures: a district's alarms received in a period, whatever their state.
            models.Index(fields=["district", "received_at"], name="alarm_district_received"),
            models.Index(
                fields=["resend_at"], condition=Q(resend_at__isnull=False), name="alarm_resend_due"
            ),
            models.Index(
                fields=["announce_at"],
                condition=Q(announce_at__isnull=False),
                name="alarm_announce_due",
            ),
            models.Index(
                fields=["dispatch_due_at"],
                condition=Q(dispatch_due_at__isnull=False),
                name="alarm_dispatch_due",
            ),
        ]


class DeviceMessage(models.Model):
    device = models.ForeignKey(
        "elders.AlarmDevice", on_delete=models.CASCADE, related_name="messages"
    )
    event_id = models.UUIDField()
    kind = models.CharField(max_length=15, choices=MessageKind.choices)
    at = models.DateTimeField(help_text="When it happened, by the device's clock")
    received_at = models.DateTimeField()
    delay_s = models.PositiveIntegerField()
    late = models.BooleanField()
    battery = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    location = models.PointField(srid=4326, null=True, blank=True, help_text="WGS-84")
    result = models.CharField(max_length=10, choices=MessageResult.choices)
    alarm = models.ForeignKey(
        Alarm, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    # Its consequences for the device (last heard, battery, problems: alarms/devices.py) are
    # done. Taken in, a message is not applied yet; the device lane applies it.
    # db_default: a web process still running the code before this column (a rolling deploy)
    # inserts without it; the device lane then applies its rows.
    applied = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "event_id"], name="device_message_once"),
        ]
        indexes = [
            models.Index(
                fields=["device", "received_at"],
                condition=Q(applied=False),
                name="device_message_unapplied",
            ),
            # The purge of old heartbeats and battery reports (alarms.tasks.device_messages_purge).
            models.Index(
                fields=["received_at"], condition=Q(alarm__isnull=True), name="device_message_purge"
            ),
        ]


class DeviceRefusals(models.Model):
    """How often the device's messages were refused lately: one event per window to the
    district's staff, with the count of those held back, so a broken device cannot flood it."""

    device = models.OneToOneField(
        "elders.AlarmDevice", on_delete=models.CASCADE, related_name="refusals"
    )
    reported_at = models.DateTimeField(null=True, blank=True)
    held_back = models.PositiveIntegerField(default=0)


class DeviceStatus(models.Model):
    """What the device lane knows of a device's life, one narrow row per device, written on
    every message it applies (so the device's own row, which the alarm path locks, is not).

    `offline_at` is the deadline the device sweep looks for: the later of the last message
    received (server time) and `watched_since`, plus the grace (alarms.devices.offline_deadline).
    `watched_since` is when the lane began watching the device (for one heard before the lane,
    its latest message), or watched it afresh once it was reactivated. `offline_at` is None
    while the device is offline (its problem is open) or deactivated (not watched)."""

    device = models.OneToOneField(
        "elders.AlarmDevice", on_delete=models.CASCADE, primary_key=True, related_name="status"
    )
    watched_since = models.DateTimeField()
    last_received_at = models.DateTimeField(
        null=True, blank=True, help_text="The latest message received, by the server's clock"
    )
    offline_at = models.DateTimeField(
        null=True, blank=True, help_text="Offline if nothing is received by then"
    )
    battery_at = models.DateTimeField(
        null=True, blank=True, help_text="The device's time of the latest battery reading taken"
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["offline_at"],
                condition=Q(offline_at__isnull=False),
                name="device_status_offline_due",
            ),
        ]


class ProblemKind(models.TextChoices):
    OFFLINE = "device_offline", "Device offline: heartbeats missed (设备离线)"
    LOW_BATTERY = "low_battery", "Maintenance: change or charge the battery (更换电池)"


class ProblemState(models.TextChoices):
    OPEN = "open", "Open"
    ENDED = "ended", "Ended"


class ProblemResolution(models.TextChoices):
    BACK = "back", "By itself: the device was heard again, or its battery recovered"
    CLOSED = "closed", "Closed by hand by district staff, with a note"
    RETIRED = "retired", "The device was deactivated"


class DeviceProblem(models.Model):
    """A low-priority problem with a device for its district's staff: offline (a missed
    heartbeat) or a maintenance task (low battery). Not an operator alert: nothing re-sends or
    escalates it. One open per device and kind, whatever runs twice (the constraint)."""

    device = models.ForeignKey(
        "elders.AlarmDevice", on_delete=models.CASCADE, related_name="problems"
    )
    district = models.ForeignKey("accounts.District", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=ProblemKind.choices)
    state = models.CharField(max_length=10, choices=ProblemState.choices)
    opened_at = models.DateTimeField()
    last_heard_at = models.DateTimeField(
        null=True, blank=True, help_text="Offline: the last message received, none if never"
    )
    battery = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Low battery: the level reported, if the device gave one"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=10, choices=ProblemResolution.choices, blank=True)
    ended_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["device", "kind"],
                condition=Q(state=ProblemState.OPEN),
                name="device_problem_one_open",
            ),
        ]
        indexes = [
            models.Index(fields=["district", "state", "opened_at"], name="device_problem_district"),
        ]
