"""Alarms from devices on elders (一键通 buttons, watches, fall detectors, smoke and gas sensors).

Every message a device sends and the platform accepts is a `DeviceMessage`, once per
(device, event_id): the unique constraint is what makes a repeat create nothing. A message of
an alarm kind opens an `Alarm`, or joins the device's open one.
"""

from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator
from django.db.models import Q


class MessageKind(models.TextChoices):
    SOS = "sos", "SOS button pressed (一键呼叫)"
    FALL = "fall", "Fall detected"
    NO_MOVEMENT = "no_movement", "No movement for too long"
    SMOKE = "smoke", "Smoke"
    GAS = "gas", "Gas"
    LOW_BATTERY = "low_battery", "Low battery"
    HEARTBEAT = "heartbeat", "Heartbeat"


# The kinds that are alarms; the others (heartbeat, low_battery) are recorded on the device.
ALARM_KINDS = frozenset(
    {MessageKind.SOS, MessageKind.FALL, MessageKind.NO_MOVEMENT, MessageKind.SMOKE, MessageKind.GAS}
)


class AlarmState(models.TextChoices):
    OPEN = "open", "Open, nobody has acknowledged it"
    ACKNOWLEDGED = "acknowledged", "Acknowledged by an operator"
    CLOSED = "closed", "Closed with an outcome"


# The states in which more messages from the device join the alarm (one per device at most);
# after it closes, the device's next press opens a new alarm.
OPEN_STATES = (AlarmState.OPEN, AlarmState.ACKNOWLEDGED)


class AlarmOutcome(models.TextChoices):
    """How an alarm ends; recorded with the operator who closes it."""

    FALSE_ALARM = "false_alarm", "False alarm (误报)"
    HELP_ON_SITE = "help_on_site", "Help on site"
    CALLED_120 = "called_120", "120 called"
    CALLED_119 = "called_119", "119 called"
    TAKEN_TO_HOSPITAL = "taken_to_hospital", "Taken to hospital"
    OTHER = "other", "Other"


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

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "event_id"], name="device_message_once"),
        ]


class DeviceRefusals(models.Model):
    """How often the device's messages were refused lately: one event per window to the
    district's staff, with the count of those held back, so a broken device cannot flood it."""

    device = models.OneToOneField(
        "elders.AlarmDevice", on_delete=models.CASCADE, related_name="refusals"
    )
    reported_at = models.DateTimeField(null=True, blank=True)
    held_back = models.PositiveIntegerField(default=0)
