from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, GistIndex
from django.utils.translation import gettext_lazy
from phonenumber_field.modelfields import PhoneNumberField


class ProviderKind(models.TextChoices):
    HOME_CARE = "home_care", "Home-care company (居家养老服务企业)"
    COMMUNITY_CENTRE = "community_centre", "Community service centre (社区养老服务中心)"
    DAY_CARE = "day_care", "Day-care centre (日间照料中心)"
    MEAL_POINT = "meal_point", "Meal point (助餐点)"
    CLINIC = "clinic", "Clinic (医疗机构)"
    VOLUNTEER = "volunteer", "Volunteer organisation (志愿服务组织)"


class ProviderStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    BLACKLISTED = "blacklisted", "Blacklisted"


class Provider(models.Model):
    """A service organisation (服务商)."""

    district = models.ForeignKey("accounts.District", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=20, choices=ProviderKind.choices, default=ProviderKind.HOME_CARE
    )
    credit_code = models.CharField(
        max_length=18,
        unique=True,
        null=True,
        blank=True,
        help_text="Unified social credit code (GB 32100)",
    )
    contact_name = models.CharField(max_length=100, blank=True)
    contact_phone = PhoneNumberField(blank=True)
    status = models.CharField(
        max_length=20, choices=ProviderStatus.choices, default=ProviderStatus.ACTIVE
    )
    status_reason = models.CharField(max_length=300, blank=True)
    suspended_until = models.DateField(null=True, blank=True)
    base_location = models.PointField(geography=True, srid=4326, null=True, blank=True)
    service_area = models.MultiPolygonField(
        geography=True,
        srid=4326,
        null=True,
        blank=True,
        help_text="Where it serves; without one, `service_radius_m` around the base",
    )
    service_radius_m = models.PositiveIntegerField(default=3000)
    insurance_policy = models.CharField(max_length=100, blank=True)
    insurance_expires_on = models.DateField(null=True, blank=True)
    credit_score = models.DecimalField(max_digits=5, decimal_places=1, default=100)
    admins = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="administered_providers"
    )

    def __str__(self) -> str:
        return self.name


class PriceUnit(models.TextChoices):
    VISIT = "visit", "Per visit"
    HOUR = "hour", "Per hour"
    MEAL = "meal", "Per meal"


class ProviderService(models.Model):
    """A service the provider offers, at a price."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="services")
    service_code = models.SlugField(max_length=30)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    unit = models.CharField(max_length=10, choices=PriceUnit.choices)
    subsidised = models.BooleanField(default=False, help_text="The district subsidises it")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "service_code"], name="provider_service_once"
            )
        ]


class ShiftState(models.TextChoices):
    OFF = "off", gettext_lazy("Off shift")
    ON = "on", gettext_lazy("On shift")
    BREAK = "break", gettext_lazy("On a break")


class Worker(models.Model):
    """A caregiver or service worker (护理员/服务人员) who receives offers on the app."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="worker"
    )
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="workers")
    full_name = models.CharField(max_length=100)
    phone = PhoneNumberField()
    alt_phone = PhoneNumberField(blank=True)
    gender = models.CharField(
        max_length=10, choices=[("female", "Female"), ("male", "Male")], blank=True
    )
    languages = ArrayField(
        models.CharField(max_length=30),
        default=list,
        blank=True,
        help_text="Languages and dialects, e.g. mandarin, northeastern",
    )
    skills = ArrayField(
        models.CharField(max_length=30),
        default=list,
        blank=True,
        help_text="Service type codes this worker may do, e.g. meal, bathing, emergency",
    )
    shift_state = models.CharField(
        max_length=10, choices=ShiftState.choices, default=ShiftState.OFF
    )
    capacity = models.PositiveSmallIntegerField(default=1, help_text="Concurrent jobs at most")
    active_jobs = models.PositiveSmallIntegerField(default=0)
    rating = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    credit_score = models.DecimalField(max_digits=5, decimal_places=1, default=100)

    class Meta:
        indexes = [
            GinIndex(fields=["skills"], name="worker_skills"),
            # A worker found by a number: the language of a text or call to it
            # (backend/core/i18n.py), an SMS reply from it (dispatch/offer_sms.py).
            models.Index(fields=["phone"], name="worker_phone"),
            models.Index(fields=["alt_phone"], name="worker_alt_phone"),
        ]
        constraints = [
            models.CheckConstraint(
                name="worker_jobs_within_capacity",
                condition=models.Q(active_jobs__lte=models.F("capacity")),
            )
        ]

    def __str__(self) -> str:
        return self.full_name


class ShiftChange(models.Model):
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="shift_changes")
    state = models.CharField(max_length=10, choices=ShiftState.choices)
    at = models.DateTimeField(auto_now_add=True)


class CertificateKind(models.TextChoices):
    CARE_WORKER = "care_worker", "Elderly-care worker (养老护理员)"
    HEALTH = "health", "Health certificate (健康证)"
    NURSE = "nurse", "Nurse licence (护士执业证)"
    FIRST_AID = "first_aid", "First aid (急救证)"


class Certificate(models.Model):
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="certificates")
    kind = models.CharField(max_length=15, choices=CertificateKind.choices)
    level = models.CharField(max_length=30, blank=True, help_text="e.g. 初级, 中级, 高级")
    number = models.CharField(max_length=60)
    expires_on = models.DateField()
    expiry_notice_sent_on = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["worker", "kind", "expires_on"], name="cert_valid")]


class WorkerPosition(models.Model):
    """The last-known position, one narrow row per worker, and what matching filters on.

    Kept apart from Worker because it changes every few seconds and carries a GiST index:
    updating an indexed column rules out PostgreSQL's cheap in-place updates. The worker's
    shift, spare capacity, skills and provider are copied here (`services.positions_sync`) so
    that matching is one KNN walk of a partial GiST index over matchable workers only, which
    stops as soon as it has found enough.
    """

    worker = models.OneToOneField(
        Worker, on_delete=models.CASCADE, primary_key=True, related_name="position"
    )
    point = models.PointField(geography=True, srid=4326, spatial_index=False, help_text="WGS-84")
    recorded_at = models.DateTimeField()
    on_shift = models.BooleanField(default=False)
    has_capacity = models.BooleanField(default=True)
    skills = ArrayField(models.CharField(max_length=30), default=list)
    provider = models.ForeignKey(
        Provider, null=True, on_delete=models.CASCADE, db_index=False, related_name="+"
    )

    class Meta:
        indexes = [
            GistIndex(
                fields=["point"],
                name="position_matchable",
                condition=models.Q(on_shift=True, has_capacity=True),
            ),
        ]


class PositionTrace(models.Model):
    """Short, purpose-bound history: kept only while the worker holds a job, purged after
    `ANXIN['TRACE_KEEP_DAYS']` days."""

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="+")
    point = models.PointField(geography=True, srid=4326, spatial_index=False)
    recorded_at = models.DateTimeField()
    purpose = models.CharField(max_length=60)

    class Meta:
        indexes = [models.Index(fields=["recorded_at"], name="trace_age")]


class CreditEventKind(models.TextChoices):
    VERIFIED_VISIT = "verified_visit", "Verified visit"
    LATE_ARRIVAL = "late_arrival", "Late arrival"
    NO_SHOW = "no_show", "No-show"
    UPHELD_COMPLAINT = "upheld_complaint", "Upheld complaint"
    PRAISE = "praise", "Praise"


class CreditEvent(models.Model):
    """One fact in a provider's (and worker's) credit record."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="credit_events")
    worker = models.ForeignKey(
        Worker, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_events"
    )
    kind = models.CharField(max_length=20, choices=CreditEventKind.choices)
    delta = models.DecimalField(max_digits=4, decimal_places=1)
    reference = models.CharField(max_length=60, help_text="What it is about, e.g. request:12")
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "kind", "reference"], name="credit_event_once"
            )
        ]


class SanctionKind(models.TextChoices):
    WARNING = "warning", "Warning (警告)"
    SUSPENSION = "suspension", "Suspension (暂停)"
    BLACKLIST = "blacklist", "Blacklist (黑名单)"


class Sanction(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="sanctions")
    kind = models.CharField(max_length=12, choices=SanctionKind.choices)
    reason = models.CharField(max_length=300)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    until = models.DateField(null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)


class AppealState(models.TextChoices):
    OPEN = "open", "Open"
    GRANTED = "granted", "Granted (sanction lifted)"
    REJECTED = "rejected", "Rejected"


class Appeal(models.Model):
    sanction = models.ForeignKey(Sanction, on_delete=models.PROTECT, related_name="appeals")
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    grounds = models.TextField()
    state = models.CharField(max_length=10, choices=AppealState.choices, default=AppealState.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(max_length=300, blank=True)
    filed_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sanction"], condition=models.Q(state="open"), name="one_open_appeal"
            )
        ]


class ChangeState(models.TextChoices):
    PENDING = "pending", "Waiting for a district administrator"
    APPROVED = "approved", "Approved (in effect)"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "Replaced by a later change of the same fields"


class ProviderChange(models.Model):
    """A change to where a provider serves (area, base, radius), its credit code, or a
    service's price, unit and subsidy flag (变更申请). Its admin proposes; a district
    administrator of its district approves or rejects, and only approval makes it take effect.
    A district administrator's own edit is recorded approved at once. Rows are the history.

    `changes` maps each field (`service:<code>` for a service) to {"from": ..., "to": ...}:
    geometries as GeoJSON, prices as strings, a service as {price, unit, subsidised} or null.
    """

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="changes")
    changes = models.JSONField()
    state = models.CharField(
        max_length=12, choices=ChangeState.choices, default=ChangeState.PENDING
    )
    reason = models.CharField(max_length=300, blank=True, help_text="Why, from whoever asked")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["provider", "state"], name="provider_change_state")]
        constraints = [
            models.CheckConstraint(
                name="decided_change_names_when",
                condition=models.Q(state="pending", decided_at__isnull=True)
                | (~models.Q(state="pending") & models.Q(decided_at__isnull=False)),
            )
        ]
