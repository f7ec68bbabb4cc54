"""The browser's sign-in (the API's session login): staff give the code from their app too."""

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.utils.translation import gettext_lazy as _

from backend.core.errors import DomainError

from .factors import needs_second_factor
from .otp import OTPInvalid, otp_verify


class SignInForm(AuthenticationForm):
    otp = forms.CharField(
        required=False,
        max_length=10,
        label=_("Code from your authenticator app (staff)"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # django-axes counts a wrong password, refuses a locked pair
        user = self.get_user()
        if user is not None and needs_second_factor(user):
            try:
                # django-otp's user_logged_in receiver keeps the device in the session.
                user.otp_device = otp_verify(user=user, code=cleaned.get("otp"))  # type: ignore[attr-defined]
            except DomainError as refused:
                if isinstance(refused, OTPInvalid):
                    user_login_failed.send(
                        sender=__name__,
                        credentials={"username": user.get_username()},
                        request=self.request,
                    )
                raise forms.ValidationError(str(refused.detail), code=refused.error_code) from None
        return cleaned


class SignInView(LoginView):
    form_class = SignInForm
    template_name = "accounts/sign_in.html"
