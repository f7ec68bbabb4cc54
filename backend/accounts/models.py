from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy
from phonenumber_field.modelfields import PhoneNumberField


class District(models.Model):
    """The tenancy unit (区/县): staff, elders and providers belong to one."""

    code = models.CharField(max_length=12, unique=True, help_text="Administrative division code")
    name = models.CharField(max_length=100)
    boundary = models.MultiPolygonField(srid=4326, null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Role(models.TextChoices):
    OPERATOR = "operator", gettext_lazy("Call-centre operator (坐席)")
    SUPERVISOR = "supervisor", gettext_lazy("Supervisor")
    DISTRICT_ADMIN = "district_admin", gettext_lazy("District administrator (民政)")
    PROVIDER_ADMIN = "provider_admin", gettext_lazy("Provider administrator (服务商)")
    WORKER = "worker", gettext_lazy("Worker (护理员)")
    FAMILY = "family", gettext_lazy("Family member (家属)")


STAFF_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.DISTRICT_ADMIN})
# Who oversees a district's work (its figures, the providers' quality): the console's
# supervisor pages and the oversight API.
SUPERVISION_ROLES = frozenset({Role.SUPERVISOR, Role.DISTRICT_ADMIN})


class User(AbstractUser):
    """Anyone who signs in. Staff belong to a district; a worker's provider is on its Worker row;
    a family member's elders are the elders listing them as an emergency contact."""

    role = models.CharField(max_length=20, choices=Role.choices)
    district = models.ForeignKey(
        District, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    token_version = models.PositiveIntegerField(
        default=0,
        help_text="Carried in every token; raised to end them all (password change, "
        "deactivation, sign-out everywhere). Read from the cache (backend/accounts/tokens.py)",
    )
    language = models.CharField(
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text="The language of this user's pages, API answers, texts and calls; "
        "blank: the platform's (backend/core/i18n.py)",
    )
    phone = PhoneNumberField(
        blank=True,
        help_text="E.164. An operator's registered phone, which the hotline connects the "
        "callers they take to",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="staff_have_district",
                condition=~models.Q(role__in=sorted(STAFF_ROLES))
                | models.Q(district__isnull=False),
            )
        ]
        indexes = [models.Index(fields=["phone"], name="user_phone")]

    @property
    def is_district_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def staff_district_id(self) -> int:
        """The district a staff member's view is scoped to (`staff_have_district` guarantees one);
        asking it of anyone else is a programming error."""
        if not self.is_district_staff or self.district_id is None:
            raise LookupError(f"{self.role} {self.pk} has no staff district")
        return self.district_id
