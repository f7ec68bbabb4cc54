from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from phonenumber_field.modelfields import PhoneNumberField


class ProviderStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    BLACKLISTED = "blacklisted", "Blacklisted"


class Provider(models.Model):
    """A service organisation (服务商): home-care company, community centre, meal point, ..."""

    district = models.ForeignKey("accounts.District", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=ProviderStatus.choices, default=ProviderStatus.ACTIVE
    )
    base_location = models.PointField(geography=True, srid=4326, null=True, blank=True)
    admins = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="administered_providers"
    )

    def __str__(self) -> str:
        return self.name


class ShiftState(models.TextChoices):
    OFF = "off", "Off shift"
    ON = "on", "On shift"
    BREAK = "break", "On a break"


class Worker(models.Model):
    """A caregiver or service worker (护理员/服务人员) who receives offers on the app."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="worker"
    )
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="workers")
    full_name = models.CharField(max_length=100)
    phone = PhoneNumberField()
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

    class Meta:
        indexes = [GinIndex(fields=["skills"], name="worker_skills")]
        constraints = [
            models.CheckConstraint(
                name="worker_jobs_within_capacity",
                condition=models.Q(active_jobs__lte=models.F("capacity")),
            )
        ]

    def __str__(self) -> str:
        return self.full_name


class WorkerPosition(models.Model):
    """The last-known position, one narrow row per worker.

    Kept apart from Worker because it changes every few seconds and carries a GiST index:
    updating an indexed column rules out PostgreSQL's cheap in-place updates.
    """

    worker = models.OneToOneField(
        Worker, on_delete=models.CASCADE, primary_key=True, related_name="position"
    )
    point = models.PointField(geography=True, srid=4326, help_text="WGS-84")
    recorded_at = models.DateTimeField()
