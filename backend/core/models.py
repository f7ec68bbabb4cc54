from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class CurrentTransactionId(models.Func):
    """The writing transaction's 64-bit id: lets the events feed serve only what is final."""

    template = "(pg_current_xact_id()::text::bigint)"
    output_field = models.BigIntegerField()


class Event(models.Model):
    """One row per state change: the audit record, the WebSocket push and the feed cursor."""

    xid = models.BigIntegerField(db_default=CurrentTransactionId(), editable=False)
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=60, help_text="e.g. request.offered, offer.accepted")
    subject_type = models.CharField(max_length=40)
    subject_id = models.BigIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    before = models.CharField(max_length=30, blank=True)
    after = models.CharField(max_length=30, blank=True)
    data = models.JSONField(default=dict, blank=True)
    district = models.ForeignKey(
        "accounts.District", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recipients = ArrayField(
        models.BigIntegerField(),
        default=list,
        blank=True,
        help_text="Users outside district staff who may see this event (workers, families)",
    )

    class Meta:
        indexes = [
            models.Index(fields=["xid", "id"], name="event_feed_order"),
            models.Index(fields=["subject_type", "subject_id"], name="event_subject"),
            GinIndex(fields=["recipients"], name="event_recipients"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.subject_type}:{self.subject_id}"


class IdempotencyRecord(models.Model):
    """The first answer to a retried write, keyed by (user, Idempotency-Key)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class WebSocketTicket(models.Model):
    """A short-lived, one-time ticket to open /ws/ without putting a long-lived token in a URL."""

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"ticket for user {self.user_id}"


class Heartbeat(models.Model):
    """When a periodic job (a sweep) last ran, one row per job, written by each run; the
    watchdog (backend/core/watchdog.py) reads it and keeps here the stale episode it alerted."""

    name = models.CharField(max_length=100, unique=True, help_text="The job's task name")
    last_ran_at = models.DateTimeField(null=True, blank=True)
    watched_since = models.DateTimeField(
        default=timezone.now, help_text="A job that never ran is late from here"
    )
    stale_since = models.DateTimeField(
        null=True, blank=True, help_text="When the watchdog raised the alarm; empty when fresh"
    )

    def __str__(self) -> str:
        return f"{self.name} last ran {self.last_ran_at or 'never'}"
