from datetime import timedelta

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.utils import translation
from django.utils.translation import gettext_lazy

from backend.accounts.models import Role


class Priority(models.TextChoices):
    ROUTINE = "routine", gettext_lazy("Routine")
    URGENT = "urgent", gettext_lazy("Urgent")
    EMERGENCY = "emergency", gettext_lazy("Emergency (助急)")


class ServiceType(models.Model):
    """The catalogue: meal 助餐, bathing 助浴, cleaning 助洁, medical 助医, escort 助行,
    emergency 助急, companionship 精神慰藉, shopping 代购, errands 代办, welfare check 巡访."""

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=60)
    name_zh = models.CharField(max_length=30)
    default_priority = models.CharField(
        max_length=10, choices=Priority.choices, default=Priority.ROUTINE
    )
    lead_time = models.DurationField(
        default=timedelta(minutes=30),
        help_text="For scheduled work, matching starts this long before the window opens",
    )
    default_duration = models.DurationField(default=timedelta(hours=1))
    dispatch_mode = models.CharField(
        max_length=10,
        choices=[
            ("workers", "Offer to workers directly"),
            ("provider", "Offer to providers, who assign their own staff"),
        ],
        default="workers",
        help_text="派单给服务商: meal points and many home-care companies assign their own staff",
    )
    required_certificates = ArrayField(
        models.CharField(max_length=15),
        default=list,
        blank=True,
        help_text="Certificate kinds a worker must hold, unexpired (providers.CertificateKind)",
    )
    # Service-level targets. Missing one is recorded on the work order (accept: it goes to the
    # operator queue; arrival: the operators are alerted and the check-in counts as late).
    accept_within = models.DurationField(
        default=timedelta(minutes=30),
        help_text="SLA: a worker or provider accepts within this long after matching starts",
    )
    arrive_within = models.DurationField(
        null=True,
        blank=True,
        help_text="SLA: on site within this long after the window opens; empty: by its end",
    )
    # The escalation ladder: rounds of offers, then the operator queue (an alert a named
    # operator must acknowledge), and the elder's emergency contacts where it says so.
    offer_fanout = models.PositiveSmallIntegerField(
        default=1, help_text="Offers sent at once in each round; the first accept wins"
    )
    offer_timeout = models.DurationField(
        default=timedelta(minutes=5), help_text="How long each round's offers wait for an answer"
    )
    offer_rounds = models.PositiveSmallIntegerField(
        default=5, help_text="Rounds of offers before the work goes to the operator queue"
    )
    alert_ack_within = models.DurationField(
        default=timedelta(minutes=5),
        help_text="An operator alert nobody acknowledged by then is re-sent to every operator "
        "and the supervisors, and again after each such interval",
    )
    notify_contacts = models.BooleanField(
        default=False,
        help_text="At the operator queue, tell the elder's emergency contacts by SMS and call, "
        "with the instruction to call 120 (always so for emergency priority)",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="service_type_ladder_sane",
                condition=models.Q(
                    offer_fanout__gte=1,
                    offer_rounds__gte=1,
                    offer_timeout__gte=timedelta(seconds=5),
                    accept_within__gt=timedelta(0),
                    alert_ack_within__gte=timedelta(seconds=10),
                )
                & (models.Q(arrive_within__isnull=True) | models.Q(arrive_within__gt=timedelta(0))),
            )
        ]

    @property
    def local_name(self) -> str:
        """The service in the active language: its Chinese name in Chinese."""
        chinese = (translation.get_language() or "").startswith("zh")
        return self.name_zh if chinese and self.name_zh else self.name

    def __str__(self) -> str:
        return f"{self.name} {self.name_zh}"


class Channel(models.TextChoices):
    OPERATOR = "operator", gettext_lazy("Operator (坐席)")
    FAMILY = "family", gettext_lazy("Family app")
    SCHEDULED = "scheduled", gettext_lazy("Care plan")
    IVR = "ivr", gettext_lazy("Phone menu (IVR)")
    ALARM = "alarm", gettext_lazy("Alarm device")


# Who may log a work order by hand, and the channel it then comes in by: the API's and the
# operator console's.
CHANNEL_BY_ROLE: dict[str, str] = {
    Role.OPERATOR: Channel.OPERATOR,
    Role.SUPERVISOR: Channel.OPERATOR,
    Role.DISTRICT_ADMIN: Channel.OPERATOR,
    Role.FAMILY: Channel.FAMILY,
}


class RequestState(models.TextChoices):
    NEW = "new", gettext_lazy("New, waiting for its matching time")
    MATCHING = "matching", gettext_lazy("Matching")
    OFFERED = "offered", gettext_lazy("Offered to worker(s)")
    ASSIGNED = "assigned", gettext_lazy("Assigned")
    EN_ROUTE = "en_route", gettext_lazy("En route (the worker set out)")
    ON_SITE = "on_site", gettext_lazy("On site (checked in)")
    COMPLETED = "completed", gettext_lazy("Completed (checked out)")
    CLOSED = "closed", gettext_lazy("Closed (after follow-up, or automatically)")
    ESCALATED = "escalated", gettext_lazy("In the operator queue")
    FAILED = "failed", gettext_lazy("Failed (nobody by the end of the window)")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


class Outcome(models.TextChoices):
    """How a work order ended. An emergency's end always names one, and the person who
    recorded it (`ServiceRequest.responsible`)."""

    SERVED = "served", gettext_lazy("Served: the visit happened")
    RESOLVED_ON_SITE = "resolved_on_site", gettext_lazy("Emergency resolved on site")
    AMBULANCE = "ambulance", gettext_lazy("Handed to 120 / taken to hospital")
    FAMILY_HANDLED = "family_handled", gettext_lazy("The family took care of it")
    FALSE_ALARM = "false_alarm", gettext_lazy("False alarm")
    ELDER_UNREACHABLE = (
        "elder_unreachable",
        gettext_lazy("Elder unreachable (police or community told)"),
    )
    ELDER_DECLINED = "elder_declined", gettext_lazy("Elder declined the service")
    NO_WORKER_AVAILABLE = "no_worker_available", gettext_lazy("No worker available")
    NO_WORKER_IN_WINDOW = "no_worker_in_window", gettext_lazy("Nobody by the end of the window")
    DUPLICATE = "duplicate", gettext_lazy("Duplicate of another request")
    OTHER = "other", gettext_lazy("Other (see the note)")


# Which outcomes each way of ending may record. The system records only the last of `fail`.
OUTCOMES_BY_EVENT = {
    "close": {
        Outcome.SERVED,
        Outcome.RESOLVED_ON_SITE,
        Outcome.AMBULANCE,
        Outcome.FAMILY_HANDLED,
        Outcome.OTHER,
    },
    "fail": {
        Outcome.NO_WORKER_AVAILABLE,
        Outcome.AMBULANCE,
        Outcome.FAMILY_HANDLED,
        Outcome.ELDER_UNREACHABLE,
        Outcome.ELDER_DECLINED,
        Outcome.NO_WORKER_IN_WINDOW,
        Outcome.OTHER,
    },
    "cancel": {
        Outcome.FALSE_ALARM,
        Outcome.FAMILY_HANDLED,
        Outcome.AMBULANCE,
        Outcome.ELDER_DECLINED,
        Outcome.DUPLICATE,
        Outcome.OTHER,
    },
}

OPEN_REQUEST_STATES = frozenset(
    {
        RequestState.NEW,
        RequestState.MATCHING,
        RequestState.OFFERED,
        RequestState.ASSIGNED,
        RequestState.EN_ROUTE,
        RequestState.ON_SITE,
        RequestState.ESCALATED,
    }
)

# Nobody (no worker, no provider) has the work yet.
UNACCEPTED_STATES = frozenset(
    {RequestState.NEW, RequestState.MATCHING, RequestState.OFFERED, RequestState.ESCALATED}
)

# Nobody on site yet, and the work still open: its arrival target can still be met, or missed.
NOT_ARRIVED_STATES = UNACCEPTED_STATES | {RequestState.ASSIGNED, RequestState.EN_ROUTE}


class ServiceRequest(models.Model):
    """The work order (工单): one need of one elder, from intake to check-out."""

    reference = models.CharField(max_length=20, unique=True, null=True, blank=True)
    district = models.ForeignKey("accounts.District", on_delete=models.PROTECT, related_name="+")
    elder = models.ForeignKey("elders.Elder", on_delete=models.PROTECT, related_name="requests")
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    priority = models.CharField(max_length=10, choices=Priority.choices)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    notes = models.TextField(blank=True)
    possible_duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="An open request of the same service for the same elder, when this one came in",
    )
    outcome = models.CharField(
        max_length=40, blank=True, choices=Outcome.choices, help_text="How it ended"
    )
    outcome_note = models.CharField(max_length=300, blank=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The person who ended it and answers for the outcome (every emergency has one)",
    )
    care_need = models.ForeignKey(
        "elders.CareNeed",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The care-plan entry that generated it (channel scheduled)",
    )
    occurrence = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=RequestState.choices, default=RequestState.NEW)

    match_at = models.DateTimeField(help_text="When matching starts; the sweeper's deadline")
    assigned_provider = models.ForeignKey(
        "providers.Provider", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_worker = models.ForeignKey(
        "providers.Worker", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    offer_rounds = models.PositiveSmallIntegerField(
        default=0, help_text="Rounds of offers made since matching (re)started"
    )
    # SLA deadlines, from the service type at intake, and when each was missed (once).
    accept_due_at = models.DateTimeField()
    arrive_due_at = models.DateTimeField()
    accept_missed_at = models.DateTimeField(null=True, blank=True)
    arrive_missed_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["district", "state"], name="request_district_state"),
            # A district's requests of a day (dispatch/figures.py), whatever the table's size.
            models.Index(fields=["district", "created_at"], name="request_district_created"),
            # The sweeper looks for no-shows, overdue queued work and completed work to close
            # every 10 s; without this it would read the whole (ever-growing) table.
            models.Index(
                fields=["state", "window_end"],
                name="request_in_progress",
                condition=models.Q(
                    state__in=["assigned", "en_route", "on_site", "escalated", "completed"]
                ),
            ),
            models.Index(
                fields=["accept_due_at"],
                name="request_accept_due",
                condition=models.Q(
                    accept_missed_at__isnull=True,
                    state__in=["new", "matching", "offered", "escalated"],
                ),
            ),
            models.Index(
                fields=["arrive_due_at"],
                name="request_arrive_due",
                condition=models.Q(
                    arrive_missed_at__isnull=True,
                    state__in=["new", "matching", "offered", "escalated", "assigned", "en_route"],
                ),
            ),
            models.Index(
                fields=["match_at"],
                name="request_due_matching",
                condition=models.Q(state__in=["new", "matching"]),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["care_need", "occurrence"],
                name="request_once_per_occurrence",
                condition=models.Q(care_need__isnull=False),
            ),
            models.CheckConstraint(
                name="request_window_ordered",
                condition=models.Q(window_end__gt=models.F("window_start")),
            ),
            # Every emergency ends with a person who answers for it and an outcome code.
            models.CheckConstraint(
                name="emergency_ends_with_a_person_and_outcome",
                condition=~models.Q(
                    priority="emergency", state__in=["closed", "failed", "cancelled"]
                )
                | (models.Q(responsible__isnull=False) & ~models.Q(outcome="")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.state}"


class OfferState(models.TextChoices):
    PENDING = "pending", gettext_lazy("Waiting for the worker")
    ACCEPTED = "accepted", gettext_lazy("Accepted")
    DECLINED = "declined", gettext_lazy("Declined")
    EXPIRED = "expired", gettext_lazy("Expired (no answer in time)")
    WITHDRAWN = "withdrawn", gettext_lazy("Withdrawn")


class JobOffer(models.Model):
    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="offers")
    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.PROTECT, related_name="offers"
    )
    worker = models.ForeignKey(
        "providers.Worker",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="offers",
        help_text="Empty when the whole job is offered to the provider",
    )
    rank = models.PositiveSmallIntegerField()
    distance_m = models.FloatField()
    state = models.CharField(max_length=10, choices=OfferState.choices, default=OfferState.PENDING)
    sent_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="The sweeper's deadline for an answer")
    responded_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=200, blank=True)
    # Workers without a connection: an offer the worker's app has not opened within
    # ANXIN["OFFER_SMS_AFTER_S"] also goes by SMS, with a code the worker may reply with.
    opened_at = models.DateTimeField(
        null=True, blank=True, help_text="When the worker's app first opened it"
    )
    sms_code = models.CharField(
        max_length=8, blank=True, help_text="The short code of its SMS (unique among live offers)"
    )
    sms_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["expires_at"],
                name="offer_pending_deadline",
                condition=models.Q(state="pending"),
            ),
            models.Index(
                fields=["sent_at"],
                name="offer_unopened",
                condition=models.Q(
                    state="pending",
                    opened_at__isnull=True,
                    sms_sent_at__isnull=True,
                    worker__isnull=False,
                ),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["request", "worker"], name="offer_once_per_worker"),
            models.UniqueConstraint(
                fields=["request", "provider"],
                condition=models.Q(worker__isnull=True),
                name="offer_once_per_provider",
            ),
            # Backs "first accept wins" in the database, whatever happens to the lock.
            models.UniqueConstraint(
                fields=["request"],
                condition=models.Q(state="accepted"),
                name="offer_one_accepted_per_request",
            ),
            # A reply names an offer by its code alone (with the sender's number).
            models.UniqueConstraint(
                fields=["sms_code"],
                condition=models.Q(state="pending") & ~models.Q(sms_code=""),
                name="offer_sms_code_live",
            ),
        ]


class VisitState(models.TextChoices):
    ON_SITE = "on_site", "Checked in"
    COMPLETED = "completed", "Checked out"


class ExceptionState(models.TextChoices):
    """A check-in outside the geofence, explained by the worker, for a supervisor to decide."""

    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


# A visit counts (credit, subsidy, settlement) once it is checked out with no geofence exception
# or an approved one: while an exception is pending it is not verified yet, once rejected never.
VISIT_VERIFIED = models.Q(
    checked_out_at__isnull=False, exception_state__in=["", ExceptionState.APPROVED]
)


class VisitConfirmation(models.TextChoices):
    PENDING = "pending", "Asked, waiting for the answer"
    CONFIRMED = "confirmed", "The elder confirmed the caregiver is there"
    DENIED = "denied", "The elder said nobody has arrived"
    NO_ANSWER = "no_answer", "No answer"


class WelfareOutcome(models.TextChoices):
    """What a welfare check (巡访) found."""

    SEEN_WELL = "seen_well", gettext_lazy("Seen and well")
    NEEDS_HELP = "needs_help", gettext_lazy("Needs help")
    NOT_HOME = "not_home", gettext_lazy("Not at home")
    NO_ANSWER = "no_answer", gettext_lazy("No answer")


# The service whose check-out says what it found (`WelfareOutcome`): ServiceType.code.
WELFARE_CHECK = "welfare_check"
# What a welfare check finds that alerts the operators (`welfare_<outcome>` alerts).
WELFARE_OUTCOMES_ALERTED = frozenset({WelfareOutcome.NO_ANSWER, WelfareOutcome.NEEDS_HELP})


class Visit(models.Model):
    """Electronic visit verification: who, for whom, what, where, start and end (server clock)."""

    request = models.OneToOneField(ServiceRequest, on_delete=models.PROTECT, related_name="visit")
    worker = models.ForeignKey("providers.Worker", on_delete=models.PROTECT, related_name="+")
    elder = models.ForeignKey("elders.Elder", on_delete=models.PROTECT, related_name="+")
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=VisitState.choices, default=VisitState.ON_SITE)
    checked_in_at = models.DateTimeField()
    check_in_point = models.PointField(geography=True, srid=4326)
    check_in_distance_m = models.FloatField()
    checked_out_at = models.DateTimeField(null=True, blank=True)
    # The phone's time of the check-in and check-out (an offline visit is sent later), moved
    # onto the server's clock by the phone's skew when the phone said when it sent it (the raw
    # time and the skew are in the event: dispatch/client_clock.py); kept beside the server's
    # times, which stay the record for every rule.
    client_checked_in_at = models.DateTimeField(
        null=True, blank=True, help_text="The phone's time of the check-in, as it sent it"
    )
    client_checked_out_at = models.DateTimeField(
        null=True, blank=True, help_text="The phone's time of the check-out, as it sent it"
    )
    check_out_point = models.PointField(
        geography=True,
        srid=4326,
        null=True,
        blank=True,
        help_text="WGS-84; the API requires it (empty only on visits from before it did)",
    )
    check_out_distance_m = models.FloatField(null=True, blank=True)
    # Settlement snapshot, taken at check-in from the provider's price list.
    price = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    price_unit = models.CharField(max_length=10, blank=True)
    subsidy_share = models.DecimalField(
        max_digits=3, decimal_places=2, default=0, help_text="Share of the price the district pays"
    )
    # A check-in outside the geofence the worker explained, for a supervisor to decide.
    exception_reason = models.CharField(max_length=30, blank=True)
    exception_state = models.CharField(max_length=10, blank=True, choices=ExceptionState.choices)
    exception_resolution = models.CharField(
        max_length=30, blank=True, help_text="The supervisor's resolution code"
    )
    exception_note = models.CharField(max_length=300, blank=True)
    exception_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    welfare_outcome = models.CharField(
        max_length=12,
        blank=True,
        choices=WelfareOutcome.choices,
        help_text="巡访: what the welfare check found",
    )
    # Visit confirmation: the elder asked by phone or SMS at check-in whether the caregiver has
    # arrived (ANXIN["VISIT_CONFIRMATION"]). An independent check beside the geofence: it does
    # not change `verified`; a denial alerts the operators.
    confirmation = models.CharField(max_length=10, blank=True, choices=VisitConfirmation.choices)
    confirmation_channel = models.CharField(
        max_length=4, blank=True, choices=[("call", "Voice call"), ("sms", "SMS")]
    )
    confirmation_due_at = models.DateTimeField(
        null=True, blank=True, help_text="No answer by then counts as no answer (the sweeper)"
    )
    confirmation_at = models.DateTimeField(null=True, blank=True)
    verified = models.GeneratedField(
        expression=models.ExpressionWrapper(VISIT_VERIFIED, output_field=models.BooleanField()),
        output_field=models.BooleanField(),
        db_persist=True,
        help_text="Checked out, with no geofence exception or an approved one: what credit, "
        "subsidy and settlement count",
    )


# Reason codes a worker gives for a check-in outside the geofence, and the codes a supervisor
# resolves it with (approving or rejecting the visit).
class GeofenceReason(models.TextChoices):
    GPS_DRIFT = "gps_drift", gettext_lazy("The phone's position is off")
    ELDER_NOT_AT_HOME = "elder_not_at_home", gettext_lazy("The elder is not at home")
    WRONG_ADDRESS_ON_FILE = "wrong_address_on_file", gettext_lazy("The address on file is wrong")
    OTHER = "other", gettext_lazy("Another reason")


GEOFENCE_EXCEPTION_REASONS: list[str] = GeofenceReason.values
# The exception a visit gets when the phone kept its check-in or check-out longer than
# ANXIN["CLIENT_TIME_GAP_M"] before sending it (an offline visit sent late; without the
# phone's time of sending, its clock against the server's: dispatch/client_clock.py).
LATE_SYNC = "late_sync"
VISIT_EXCEPTION_RESOLUTIONS = {
    "approved": {
        "position_error_confirmed",
        "address_corrected",
        "met_elsewhere",
        "offline_visit_confirmed",
        "other",
    },
    "rejected": {"visit_not_verified", "wrong_elder", "other"},
}


class ElderPreference(models.Model):
    """What an elder has asked of dispatch: a worker's gender, workers they refuse. Kept in
    dispatch, since only matching reads it."""

    elder = models.OneToOneField(
        "elders.Elder", on_delete=models.CASCADE, related_name="dispatch_preference"
    )
    preferred_gender = models.CharField(
        max_length=10, blank=True, choices=[("female", "Female"), ("male", "Male")]
    )
    refused_workers = models.ManyToManyField("providers.Worker", blank=True, related_name="+")
    notes = models.CharField(max_length=300, blank=True)


class Feedback(models.Model):
    """Follow-up (回访): how the visit went, from the elder, the family or an operator's call."""

    request = models.OneToOneField(
        ServiceRequest, on_delete=models.CASCADE, related_name="feedback"
    )
    rating = models.PositiveSmallIntegerField(help_text="1 (bad) to 5 (very good)")
    comment = models.TextField(blank=True)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="feedback_rating_1_to_5", condition=models.Q(rating__gte=1, rating__lte=5)
            )
        ]


class ComplaintState(models.TextChoices):
    OPEN = "open", gettext_lazy("Open")
    UPHELD = "upheld", gettext_lazy("Upheld")
    DISMISSED = "dismissed", gettext_lazy("Dismissed")


class ComplaintReason(models.TextChoices):
    """What a complaint (投诉) is about: a low rating opens one by itself; a family member or an
    operator may open one with any other reason (dispatch/follow_up.py)."""

    LOW_RATING = "low_rating", gettext_lazy("A low rating")
    LATE = "late", gettext_lazy("Late, or nobody came")
    CONDUCT = "conduct", gettext_lazy("The caregiver's manner")
    QUALITY = "quality", gettext_lazy("The service was poorly done")
    SAFETY = "safety", gettext_lazy("Safety, or the elder's belongings")
    CHARGES = "charges", gettext_lazy("Price or charges")
    OTHER = "other", gettext_lazy("Something else")


class Complaint(models.Model):
    request = models.ForeignKey(ServiceRequest, on_delete=models.PROTECT, related_name="complaints")
    feedback = models.OneToOneField(
        Feedback, null=True, blank=True, on_delete=models.SET_NULL, related_name="complaint"
    )
    reason = models.CharField(
        max_length=12, choices=ComplaintReason.choices, default=ComplaintReason.LOW_RATING
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who complained (the rater, for one a low rating opened)",
    )
    text = models.TextField()
    state = models.CharField(
        max_length=10, choices=ComplaintState.choices, default=ComplaintState.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)


class AlertKind(models.TextChoices):
    NO_WORKER = "no_worker", gettext_lazy("Nobody took the job: the operator queue")
    NON_ARRIVAL = "non_arrival", gettext_lazy("No check-in by the end of the window")
    MISSING_CHECK_OUT = (
        "missing_check_out",
        gettext_lazy("On site far longer than the service takes"),
    )
    WELFARE_NO_ANSWER = "welfare_no_answer", gettext_lazy("A welfare check found nobody answering")
    WELFARE_NEEDS_HELP = (
        "welfare_needs_help",
        gettext_lazy("A welfare check found the elder needs help"),
    )
    LATE_ARRIVAL = "late_arrival", gettext_lazy("Nobody on site by the arrival target")
    EMERGENCY_OUTCOME = (
        "emergency_outcome",
        gettext_lazy("An emergency visit ended: record its outcome"),
    )
    CALLOUT_UNANSWERED = (
        "callout_unanswered",
        gettext_lazy("No emergency contact took responsibility on the phone: call 120"),
    )
    VISIT_DENIED = (
        "visit_denied",
        gettext_lazy("The elder said on the phone that nobody has arrived"),
    )
    CALLER_WAITING = (
        "caller_waiting",
        gettext_lazy("An emergency by phone: the caller is on the line, waiting for an operator"),
    )
    LATE_CHECK_IN = (
        "late_check_in",
        gettext_lazy("A check-in arrived after the job was treated as a no-show"),
    )


class OperatorAlert(models.Model):
    """Something a named operator must take responsibility for (acknowledge), then resolve with
    a code. Unacknowledged alerts are re-sent to every operator and the supervisors until
    someone acknowledges; `?unresolved=true` is the operators' exception queue."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="alerts")
    visit = models.ForeignKey(
        Visit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The visit it is about, for alerts raised by a visit",
    )
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    episode = models.PositiveSmallIntegerField(
        default=1, help_text="1 for the first alert of its kind on this request and visit"
    )
    raised_at = models.DateTimeField(auto_now_add=True)
    resend_at = models.DateTimeField(help_text="When to re-send if nobody acknowledged")
    resent = models.PositiveSmallIntegerField(default=0)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=30, blank=True)
    resolution_note = models.CharField(max_length=300, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Resolved alerts count: a sweep that finds the condition again cannot raise a
            # second alert of the same episode, whatever its timing.
            models.UniqueConstraint(
                fields=["request", "visit", "kind", "episode"],
                nulls_distinct=False,
                name="one_alert_per_episode",
            ),
            models.UniqueConstraint(
                fields=["request", "visit", "kind"],
                condition=models.Q(resolved_at__isnull=True),
                nulls_distinct=False,
                name="one_unresolved_alert_per_kind",
            ),
        ]
        indexes = [
            models.Index(
                fields=["resend_at"],
                name="alert_resend_due",
                condition=models.Q(acknowledged_at__isnull=True),
            ),
            models.Index(
                fields=["request"],
                name="alert_unresolved",
                condition=models.Q(resolved_at__isnull=True),
            ),
        ]


class CallOutState(models.TextChoices):
    CALLING = "calling", "Calling the emergency contacts in turn"
    TAKEN = "taken", "A contact took responsibility (pressed 1)"
    NOBODY = "nobody", "Nobody took responsibility: the operators call 120"
    STOPPED = "stopped", "Stopped: the work order was accepted or ended first"


class CallOut(models.Model):
    """Emergency call-out (紧急联系人呼叫): when an emergency is not accepted in time, the elder's
    emergency contacts are called in priority order (each one's phone, then alt_phone) until
    one presses 1 to take responsibility. The numbers to dial are fixed when it starts, one
    `CallOutAttempt` each; the rows, not a callback in memory, say what comes next."""

    request = models.OneToOneField(ServiceRequest, on_delete=models.CASCADE, related_name="callout")
    state = models.CharField(
        max_length=10, choices=CallOutState.choices, default=CallOutState.CALLING
    )
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    taken_by = models.ForeignKey(
        "elders.EmergencyContact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The contact who pressed 1 and took responsibility",
    )
    taken_at = models.DateTimeField(null=True, blank=True)


class CallAttemptState(models.TextChoices):
    WAITING = "waiting", "Not called yet"
    CALLING = "calling", "Calling"
    TAKEN = "taken", "Pressed 1"
    NOT_TAKEN = "not_taken", "No answer, busy, failed, hung up or another key"
    TIMED_OUT = "timed_out", "No final status in time: counted as no answer"
    SKIPPED = "skipped", "Not called: the call-out ended first"


class CallOutAttempt(models.Model):
    """One number of a call-out, dialled once (Twilio's retries of a failed delivery belong to
    the same attempt: the notification log's `attempt`)."""

    callout = models.ForeignKey(CallOut, on_delete=models.CASCADE, related_name="attempts")
    position = models.PositiveSmallIntegerField(help_text="1 is called first")
    contact = models.ForeignKey(
        "elders.EmergencyContact", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    which = models.CharField(
        max_length=9, choices=[("phone", "Phone"), ("alt_phone", "Other phone")]
    )
    phone = models.CharField(max_length=20, help_text="E.164, as dialled")
    event = models.CharField(
        max_length=40, unique=True, help_text="The notification log's event for this call"
    )
    state = models.CharField(
        max_length=10, choices=CallAttemptState.choices, default=CallAttemptState.WAITING
    )
    outcome = models.CharField(
        max_length=20, blank=True, help_text="What ended it: no-answer, busy, failed, digits ..."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["callout", "position"]
        constraints = [
            models.UniqueConstraint(fields=["callout", "position"], name="callout_position"),
            models.UniqueConstraint(
                fields=["callout"],
                condition=models.Q(state="calling"),
                name="callout_one_call_at_a_time",
            ),
        ]
