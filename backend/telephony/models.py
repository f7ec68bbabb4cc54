"""The notification log: every outbound SMS and call is first a row here, keyed by (event,
recipient, channel, attempt), and its delivery is decided from the row (services.py states the
policy: routine at most once, emergencies at least once)."""

from django.db import models


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    CALL = "call", "Voice call"


class Urgency(models.TextChoices):
    ROUTINE = "routine", "Routine"  # at most once; waits out quiet hours
    EMERGENCY = "emergency", "Emergency"  # at least once; never waits


class NotificationState(models.TextChoices):
    PENDING = "pending", "Pending"  # not handed to the provider yet (maybe waiting for send_after)
    SENDING = "sending", "Sending"  # handed over, answer not recorded: the outcome is unknown
    SENT = "sent", "Sent"  # the provider took it (provider_sid); on its way, or ringing
    DELIVERED = "delivered", "Delivered"  # the SMS reached the phone; the call was answered
    UNANSWERED = "unanswered", "Unanswered"  # the call rang out or was busy
    FAILED = "failed", "Failed"  # refused, undelivered, or its outcome is unknown


ENDED_STATES = frozenset(
    {NotificationState.DELIVERED, NotificationState.UNANSWERED, NotificationState.FAILED}
)


class Notification(models.Model):
    """One attempt to reach one recipient about one event on one channel (通知记录)."""

    event = models.CharField(max_length=100, help_text='What it is about, e.g. "visit.check_in:88"')
    recipient = models.CharField(max_length=20, help_text="E.164")
    channel = models.CharField(max_length=4, choices=Channel.choices)
    attempt = models.PositiveSmallIntegerField(default=1)
    template = models.CharField(max_length=60)
    params = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=10)
    urgency = models.CharField(max_length=9, choices=Urgency.choices, default=Urgency.ROUTINE)
    flow = models.CharField(max_length=40, blank=True, help_text="A registered call flow, if any")
    state = models.CharField(
        max_length=10, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    send_after = models.DateTimeField(help_text="Not before (quiet hours, retry back-off)")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    provider_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    provider_status = models.CharField(max_length=20, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    digits = models.CharField(max_length=8, blank=True, help_text="The keypad answer taken")
    created_at = models.DateTimeField(auto_now_add=True)
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient", "channel", "attempt"],
                name="notification_once_per_attempt",
            ),
            models.CheckConstraint(condition=models.Q(attempt__gte=1), name="attempt_from_one"),
        ]
        indexes = [
            # The sweep: what is waiting, and what has been sending for too long.
            models.Index(
                fields=["send_after"],
                name="notification_pending",
                condition=models.Q(state="pending"),
            ),
            models.Index(
                fields=["sending_at"],
                name="notification_sending",
                condition=models.Q(state="sending"),
            ),
            # The sweep: calls the provider took whose end was never reported.
            models.Index(
                fields=["sent_at"],
                name="notification_call_unended",
                condition=models.Q(
                    channel="call", state__in=["sent", "delivered"], ended_at__isnull=True
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.template} #{self.attempt} ({self.state})"


class InboundSms(models.Model):
    """One SMS that came in (收到的短信), kept whether or not anything took it: who sent it, what
    it said, which handler took it (or that it went to the operators, or to nobody) and what was
    answered. Twilio's MessageSid is unique: a replayed or retried webhook is ignored."""

    sender = models.CharField(max_length=32, help_text="The From number, as the provider gave it")
    to_number = models.CharField(
        max_length=32, blank=True, help_text="The number texted (To): which hotline it reached"
    )
    body = models.TextField(blank=True)
    message_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    handled_by = models.CharField(
        max_length=100, blank=True, help_text='The handler that took it, "operators", or blank'
    )
    reply = models.TextField(blank=True, help_text="What was answered (SMS replies on)")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["sender", "received_at"], name="inbound_sms_sender")]

    def __str__(self) -> str:
        return f"SMS from {self.sender[-4:]} ({self.handled_by or 'unhandled'})"
