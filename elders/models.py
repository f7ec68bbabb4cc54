from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, GistIndex
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy
from phonenumber_field.modelfields import PhoneNumberField

from .care_rules import care_rule_validator

division_code_validator = RegexValidator(
    r"^\d{12}$", "An administrative division code is 12 digits (统计用区划代码)."
)


class Gender(models.TextChoices):
    FEMALE = "female", gettext_lazy("Female (女)")
    MALE = "male", gettext_lazy("Male (男)")


class LivingArrangement(models.TextChoices):
    ALONE = "alone", gettext_lazy("Living alone (独居)")
    EMPTY_NEST = "empty_nest", gettext_lazy("Empty nest (空巢)")
    LEFT_BEHIND = "left_behind", gettext_lazy("Left behind (留守)")
    WITH_FAMILY = "with_family", gettext_lazy("With family (与家人同住)")


class Category(models.TextChoices):
    ADVANCED_AGE = "advanced_age", gettext_lazy("Advanced age (高龄)")
    DISABLED = "disabled", gettext_lazy("Disabled (失能/残疾)")
    DEMENTIA = "dementia", gettext_lazy("Dementia (失智)")
    LOW_INCOME = "low_income", gettext_lazy("Low income (低保)")
    EXTREME_POVERTY = "extreme_poverty", gettext_lazy("Extreme poverty (特困)")
    FAMILY_PLANNING = (
        "family_planning",
        gettext_lazy("Special family-planning family (计生特殊家庭)"),
    )
    VETERAN = "veteran", gettext_lazy("Veteran (优抚对象)")


class ElderStatus(models.TextChoices):
    ACTIVE = "active", gettext_lazy("Active")
    MOVED = "moved", gettext_lazy("Moved away")
    DECEASED = "deceased", gettext_lazy("Deceased")


class CareLevel(models.IntegerChoices):
    """GB/T 42195-2022 ability levels."""

    INTACT = 0, gettext_lazy("能力完好 (intact)")
    MILD = 1, gettext_lazy("能力轻度受损 / 轻度失能 (mild)")
    MODERATE = 2, gettext_lazy("能力中度受损 / 中度失能 (moderate)")
    SEVERE = 3, gettext_lazy("能力重度受损 / 重度失能 (severe)")
    TOTAL = 4, gettext_lazy("能力完全丧失 / 完全失能 (total)")


class Elder(models.Model):
    """An older person living at home (老人): the file that decides what service they get
    (分类建档、分层服务)."""

    district = models.ForeignKey("accounts.District", on_delete=models.PROTECT, related_name="+")
    full_name = models.CharField(max_length=100)
    gender = models.CharField(max_length=10, choices=Gender.choices)
    birth_date = models.DateField(null=True, blank=True)
    phone = PhoneNumberField(blank=True, help_text="Mobile, E.164")
    landline = PhoneNumberField(blank=True, help_text="Home landline, E.164")
    address = models.CharField(max_length=300)
    location = models.PointField(geography=True, srid=4326, help_text="Home, WGS-84")
    division_code = models.CharField(
        max_length=12,
        blank=True,
        validators=[division_code_validator],
        help_text="12-digit administrative division code down to village/community",
    )
    living_arrangement = models.CharField(
        max_length=12, choices=LivingArrangement.choices, blank=True
    )
    categories = ArrayField(
        models.CharField(max_length=20, choices=Category.choices), default=list, blank=True
    )
    status = models.CharField(
        max_length=10, choices=ElderStatus.choices, default=ElderStatus.ACTIVE
    )
    status_since = models.DateField(null=True, blank=True)
    # Resident ID number: encrypted (Fernet), found through a keyed hash; no digit of it is kept
    # in plain (docs/elders.md, "What stays in plain columns").
    id_number_encrypted = models.TextField(blank=True, editable=False)
    id_number_hash = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )
    # Derived from the latest ability assessment by the assessment service.
    care_level = models.PositiveSmallIntegerField(choices=CareLevel.choices, null=True, blank=True)
    next_assessment_due = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["phone"], name="elder_phone"),
            models.Index(fields=["landline"], name="elder_landline"),
            models.Index(
                fields=["division_code"], name="elder_division", opclasses=["varchar_pattern_ops"]
            ),
            GinIndex(fields=["categories"], name="elder_categories"),
            models.Index(fields=["district", "care_level"], name="elder_district_level"),
            # Coverage (district/coverage.py) finds the homes inside each provider's reach through
            # a geometry index: the geography one is several times slower at it.
            GistIndex(
                Cast("location", models.PointField(srid=4326)), name="elder_location_geometry"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def has_id_number(self) -> bool:
        return bool(self.id_number_hash)


class SmsKind(models.TextChoices):
    """What a text to the family is about. A contact chooses which kinds they get
    (`EmergencyContact.sms_kinds`), except emergencies: those reach every contact who takes
    texts at all (`wants_sms`), whatever they chose (`elders.selectors.elder_sms_contacts`)."""

    VISIT = "visit", gettext_lazy("Arrivals and departures (check-in and check-out)")
    DELAY = "delay", gettext_lazy("Delays and no-shows")
    EMERGENCY = "emergency", gettext_lazy("Emergencies")


# The kinds a contact may turn off; an emergency is never one of them.
SMS_KINDS_CHOSEN = (SmsKind.VISIT, SmsKind.DELAY)


def sms_kinds_default() -> list[str]:
    """Every kind there is a choice about: a contact hears all until they choose otherwise."""
    return [kind.value for kind in SMS_KINDS_CHOSEN]


class EmergencyContact(models.Model):
    """Family or another trusted person, called in priority order (1 first)."""

    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="contacts")
    priority = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    relationship = models.CharField(max_length=40, blank=True)
    phone = PhoneNumberField()
    alt_phone = PhoneNumberField(blank=True)
    wants_sms = models.BooleanField(default=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="elder_contacts",
        help_text="The family account, if this contact has one",
    )
    sms_kinds = ArrayField(
        models.CharField(
            max_length=10, choices=[(kind.value, kind.label) for kind in SMS_KINDS_CHOSEN]
        ),
        default=sms_kinds_default,
        blank=True,
        help_text="Which texts this contact gets besides emergencies (with wants_sms)",
    )

    class Meta:
        ordering = ["elder", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["elder", "priority"], name="contact_priority_unique"),
            models.CheckConstraint(
                name="contact_sms_kinds_chosen",
                condition=models.Q(sms_kinds__contained_by=sms_kinds_default()),
            ),
        ]
        indexes = [
            models.Index(fields=["phone"], name="contact_phone"),
            models.Index(fields=["alt_phone"], name="contact_alt_phone"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.relationship}) for {self.elder}"


class AbilityAssessment(models.Model):
    """One assessment, kept as history (老年人能力评估, GB/T 42195-2022, plus Barthel ADL)."""

    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="assessments")
    assessed_on = models.DateField()
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assessor_name = models.CharField(max_length=100)
    self_care = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(32)], help_text="自理能力 0-32"
    )
    basic_motor = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(16)], help_text="基础运动能力 0-16"
    )
    mental_state = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(30)], help_text="精神状态 0-30"
    )
    perception_social = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(12)], help_text="感知觉与社会参与 0-12"
    )
    unconscious = models.BooleanField(default=False, help_text="昏迷: level 4 whatever the score")
    total = models.PositiveSmallIntegerField()
    level = models.PositiveSmallIntegerField(choices=CareLevel.choices)
    barthel_items = models.JSONField(null=True, blank=True)
    barthel_total = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    next_due = models.DateField()
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-assessed_on", "-pk"]


class CareNeed(models.Model):
    """A recurring need in the care plan (需求档案): dispatch turns occurrences into requests."""

    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="care_needs")
    service_code = models.SlugField(max_length=30, help_text="Service catalogue code, e.g. meal")
    rrule = models.CharField(
        max_length=300,
        validators=[care_rule_validator],
        help_text="RFC 5545 RRULE in local time, e.g. FREQ=DAILY;BYHOUR=11;"
        "BYMINUTE=30 for lunch every day at 11:30 (Asia/Shanghai). DAILY, WEEKLY or MONTHLY, "
        "BYHOUR required, at most 4 times a day, no COUNT or UNTIL (ends_on says when it ends): "
        "elders/care_rules.py",
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    notes = models.TextField(blank=True)
    active = models.BooleanField(default=True)


class HealthProfile(models.Model):
    """Health notes: sensitive personal information, every read is logged."""

    elder = models.OneToOneField(Elder, on_delete=models.CASCADE, related_name="health")
    conditions = models.TextField(blank=True)
    allergies = models.TextField(blank=True)
    medication = models.TextField(blank=True)
    mobility_aids = models.TextField(blank=True)
    diet = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class DeviceKind(models.TextChoices):
    BUTTON = "button", gettext_lazy("One-touch button (一键呼叫)")
    WATCH = "watch", gettext_lazy("Watch")
    FALL_DETECTOR = "fall_detector", gettext_lazy("Fall detector")
    SMOKE = "smoke", gettext_lazy("Smoke sensor")
    GAS = "gas", gettext_lazy("Gas sensor")


class AlarmDevice(models.Model):
    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="devices")
    serial = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=15, choices=DeviceKind.choices)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    battery_pct = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    active = models.BooleanField(default=True)
    heartbeat_interval_s = models.PositiveIntegerField(
        default=3600,
        validators=[MinValueValidator(60), MaxValueValidator(7 * 86400)],
        help_text="How often the device says it is alive, in seconds",
    )
    # The device signs what it sends with this secret (docs/alarms.md); the platform needs the
    # secret itself to check, so it is encrypted (backend/core/crypto.py), not hashed. Empty
    # for a device registered before secrets: it is refused until its secret is rotated.
    secret_encrypted = models.TextField(blank=True, default="", editable=False)


class Consent(models.Model):
    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=200)
    given_by = models.CharField(
        max_length=10, choices=[("elder", "Elder"), ("guardian", "Guardian")]
    )
    given_on = models.DateField()
    withdrawn_on = models.DateField(null=True, blank=True)


class AccessGrant(models.Model):
    """Lets one user (a worker on a job) read one elder's file for a purpose, until it ends."""

    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="elder_grants"
    )
    purpose = models.CharField(max_length=200)
    reference = models.CharField(max_length=60, help_text="What grants it, e.g. request:123")
    granted_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "elder"], name="grant_user_elder"),
            models.Index(fields=["reference"], name="grant_reference"),
        ]


class AccessLog(models.Model):
    """Who read which elder's sensitive data (ID number, health notes), when, and why."""

    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="+")
    field = models.CharField(max_length=20)
    purpose = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["elder", "at"], name="accesslog_elder_at")]
