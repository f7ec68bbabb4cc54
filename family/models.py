from django.conf import settings
from django.db import models


class SignInCode(models.Model):
    """A one-time code sent by SMS to a family member's phone (短信验证码). Only its keyed hash
    is kept (`family.services`); it ends when used, replaced, expired or tried too often."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="family_sign_in_codes"
    )
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64, help_text="HMAC-SHA256 of the code, hex")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Used or replaced")

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="family_code_user_recent")]

    def __str__(self) -> str:
        return f"sign-in code {self.pk} of user {self.user_id}"
