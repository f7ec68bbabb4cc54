"""The hotline (12349 热线): each district's numbers, every inbound call, and the call-back tasks
voicemail leaves for the operators."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy
from phonenumber_field.modelfields import PhoneNumberField


class HotlineNumber(models.Model):
    """A number the public dials for a district's hotline. Twilio sends the number dialled as
    `To`; the call goes to this district's operator queue."""

    number = PhoneNumberField(unique=True, help_text="E.164, as Twilio sends it in `To`")
    district = models.ForeignKey(
        "accounts.District", on_delete=models.PROTECT, related_name="hotline_numbers"
    )
    label = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"{self.number} ({self.label or self.district_id})"


class CallState(models.TextChoices):
    RINGING = "ringing", gettext_lazy("Arrived (来电)")
    MENU = "menu", gettext_lazy("In the voice menu")
    SERVED = "served", gettext_lazy("Served by the menu (request created)")
    QUEUED = "queued", gettext_lazy("Waiting for an operator")
    CONNECTING = "connecting", gettext_lazy("Taken, ringing the operator's phone")
    CONNECTED = "connected", gettext_lazy("Talking to an operator")
    VOICEMAIL = "voicemail", gettext_lazy("Leaving a message")
    ENDED = "ended", gettext_lazy("Ended")


# A caller waiting for a person: the operators' live list.
WAITING_STATES = frozenset({CallState.QUEUED})
ENDED_CALL_STATES = frozenset({CallState.ENDED})


class CallOutcome(models.TextChoices):
    REQUEST_CREATED = "request_created", gettext_lazy("A request through the menu")
    ANSWERED = "answered", gettext_lazy("Talked to an operator")
    VOICEMAIL = "voicemail", gettext_lazy("Left a message (call-back task)")
    ABANDONED = "abandoned", gettext_lazy("Hung up before being served")
    FAILED = "failed", gettext_lazy("The call failed")


class CallPriority(models.TextChoices):
    ROUTINE = "routine", gettext_lazy("Routine")
    EMERGENCY = "emergency", gettext_lazy("Emergency (助急)")


class Call(models.Model):
    """One inbound call: who called, who we think it is, what they chose, how long they waited,
    who took it and how it ended. Changed only through hotline.services (one audit row each)."""

    call_sid = models.CharField(max_length=64, unique=True, help_text="Twilio's CallSid")
    from_number = models.CharField(max_length=32, help_text="The caller's number, as sent")
    to_number = models.CharField(max_length=32, help_text="The hotline number dialled")
    district = models.ForeignKey("accounts.District", on_delete=models.PROTECT, related_name="+")
    elders = models.ManyToManyField(
        "elders.Elder", blank=True, related_name="+", help_text="Elders the number matched"
    )
    menu_path = models.CharField(
        max_length=40, blank=True, help_text="Keys pressed in the menu, in order"
    )
    priority = models.CharField(
        max_length=10, choices=CallPriority.choices, default=CallPriority.ROUTINE
    )
    state = models.CharField(max_length=12, choices=CallState.choices, default=CallState.RINGING)
    outcome = models.CharField(max_length=20, choices=CallOutcome.choices, blank=True)
    arrived_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    last_wait_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When Twilio last asked the queue's wait URL for this caller (still holding)",
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The operator who took the call",
    )
    taken_at = models.DateTimeField(null=True, blank=True)
    request = models.ForeignKey(
        "dispatch.ServiceRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The work order the call created",
    )
    recording_sid = models.CharField(max_length=64, blank=True)
    recording_url = models.URLField(max_length=500, blank=True)
    recording_duration_s = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["district", "state", "priority", "queued_at"], name="call_waiting"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="call_taken_by_someone",
                condition=~models.Q(state__in=["connecting", "connected"])
                | models.Q(taken_by__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"call {self.pk} ({self.state})"


class CallBackState(models.TextChoices):
    OPEN = "open", gettext_lazy("Waiting for an operator")
    TAKEN = "taken", gettext_lazy("Taken")
    CLOSED = "closed", gettext_lazy("Closed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled (the caller was still waiting)")


class CallBack(models.Model):
    """Someone to call back: a message left (or a caller gone) when nobody took the call in
    time, or an SMS nothing on the platform took (`sms`, no call). An operator takes it, calls
    back and closes it (回访)."""

    call = models.OneToOneField(
        Call, null=True, blank=True, on_delete=models.PROTECT, related_name="call_back"
    )
    sms = models.ForeignKey(
        "telephony.InboundSms",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The inbound SMS nothing took (a task without a call)",
    )
    from_number = models.CharField(
        max_length=32, blank=True, help_text="Whom to call back: the caller's or sender's number"
    )
    district = models.ForeignKey("accounts.District", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=10, choices=CallBackState.choices, default=CallBackState.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    taken_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["district", "state", "created_at"], name="callback_open")]
        constraints = [
            models.CheckConstraint(
                name="callback_closed_by_someone",
                condition=~models.Q(state="closed") | models.Q(closed_by__isnull=False),
            ),
            models.CheckConstraint(
                name="callback_of_call_or_sms",
                condition=models.Q(call__isnull=False) | models.Q(sms__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["sms", "district"],
                condition=models.Q(sms__isnull=False),
                name="callback_sms_district",
            ),
        ]

    def __str__(self) -> str:
        return f"call-back {self.pk} ({self.state})"


class AlarmCallBackState(models.TextChoices):
    """An operator's call-back of an alarm (报警回拨): the operator's own phone is rung first, then
    the elder's is dialled and the two are put through."""

    PLACING = "placing", "Asking the telephone network to ring the operator"
    RINGING_OPERATOR = "ringing_operator", "Ringing the operator's phone"
    OPERATOR_ANSWERED = "operator_answered", "The operator hears which alarm it is"
    RINGING_ELDER = "ringing_elder", "The operator pressed 1: ringing the elder"
    CONNECTED = "connected", "The elder answered: operator and elder are talking"
    ENDED = "ended", "Ended"


# While one of these, the alarm's call-back is in progress: nobody starts another.
CALL_BACK_IN_PROGRESS = frozenset(AlarmCallBackState.values) - {AlarmCallBackState.ENDED}
# The constraint that backs it (its name, as PostgreSQL reports a breach).
CALL_BACK_ONE_AT_A_TIME = "alarm_call_back_one_at_a_time"


class AlarmCallBackOutcome(models.TextChoices):
    ANSWERED = "answered", "The elder answered"
    NO_ANSWER = "no_answer", "The elder did not answer"
    BUSY = "busy", "The elder's line was busy"
    FAILED = "failed", "The call failed"
    OPERATOR_NO_ANSWER = "operator_no_answer", "The operator did not answer (or did not press 1)"
    OPERATOR_HUNG_UP = "operator_hung_up", "The operator hung up before the elder answered"
    NOT_PLACED = "not_placed", "The telephone network refused the call"
    UNKNOWN = "unknown", "Its end was never reported"


class ElderLine(models.TextChoices):
    MOBILE = "mobile", "Mobile"
    LANDLINE = "landline", "Landline"


class AlarmCallBack(models.Model):
    """One call-back of an alarm by an operator, from the operator's phone to the elder's, with
    the district's hotline number shown to the elder. What Twilio reports of each leg is kept
    as it comes (in any order, repeated); the state and outcome are derived from it
    (hotline/alarm_call_back.py). At most one per alarm in progress."""

    alarm = models.ForeignKey("alarms.Alarm", on_delete=models.PROTECT, related_name="call_backs")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who calls back (their registered phone is rung first)",
    )
    operator_phone = models.CharField(max_length=20, help_text="E.164, the operator's phone")
    elder_phone = models.CharField(max_length=20, help_text="E.164, the number dialled")
    line = models.CharField(max_length=10, choices=ElderLine.choices)
    caller_id = models.CharField(max_length=20, help_text="Shown to the elder: the hotline's")
    state = models.CharField(
        max_length=20, choices=AlarmCallBackState.choices, default=AlarmCallBackState.PLACING
    )
    outcome = models.CharField(max_length=20, choices=AlarmCallBackOutcome.choices, blank=True)
    call_sid = models.CharField(
        max_length=64, null=True, blank=True, unique=True, help_text="The operator's leg"
    )
    elder_call_sid = models.CharField(max_length=64, blank=True, help_text="The elder's leg")
    operator_status = models.CharField(max_length=20, blank=True, help_text="Twilio's, ranked")
    elder_status = models.CharField(max_length=20, blank=True, help_text="Twilio's, ranked")
    error_code = models.CharField(max_length=40, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    operator_answered_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="The operator pressed 1: the elder is dialled"
    )
    elder_answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, help_text="The last news of the call")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["alarm"],
                condition=models.Q(state__in=sorted(CALL_BACK_IN_PROGRESS)),
                name=CALL_BACK_ONE_AT_A_TIME,
            ),
            models.UniqueConstraint(
                fields=["operator", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="alarm_call_back_key_once",
            ),
            models.CheckConstraint(
                name="alarm_call_back_ended_with_outcome",
                condition=models.Q(state="ended", outcome__gt="")
                | (~models.Q(state="ended") & models.Q(outcome="")),
            ),
        ]
        indexes = [
            # The sweep: call-backs in progress whose news stopped.
            models.Index(
                fields=["updated_at"],
                condition=models.Q(state__in=sorted(CALL_BACK_IN_PROGRESS)),
                name="alarm_call_back_unended",
            ),
        ]

    def __str__(self) -> str:
        return f"alarm call-back {self.pk} ({self.state})"
