from django.conf import settings
from django.contrib.gis.db import models
from phonenumber_field.modelfields import PhoneNumberField


class Gender(models.TextChoices):
    FEMALE = "female", "Female (女)"
    MALE = "male", "Male (男)"


class Elder(models.Model):
    """An older person living at home (老人) whom the platform serves."""

    district = models.ForeignKey("accounts.District", on_delete=models.PROTECT, related_name="+")
    full_name = models.CharField(max_length=100)
    gender = models.CharField(max_length=10, choices=Gender.choices)
    birth_date = models.DateField(null=True, blank=True)
    phone = PhoneNumberField(blank=True, help_text="Mobile, E.164")
    landline = PhoneNumberField(blank=True, help_text="Home landline, E.164")
    address = models.CharField(max_length=300)
    location = models.PointField(geography=True, srid=4326, help_text="Home, WGS-84")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["phone"], name="elder_phone"),
            models.Index(fields=["landline"], name="elder_landline"),
        ]

    def __str__(self) -> str:
        return self.full_name


class EmergencyContact(models.Model):
    """Family or another trusted person, called in priority order (1 first)."""

    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="contacts")
    priority = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    relationship = models.CharField(max_length=40, blank=True)
    phone = PhoneNumberField()
    wants_sms = models.BooleanField(default=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="elder_contacts",
        help_text="The family account, if this contact has one",
    )

    class Meta:
        ordering = ["elder", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["elder", "priority"], name="contact_priority_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.relationship}) for {self.elder}"
