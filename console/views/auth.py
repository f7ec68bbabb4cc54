"""The console's sign-in and sign-out: the session login of the security work (password, the
authenticator's code, django-axes' lockout), for the district's staff only."""

from django import forms
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.accounts.models import STAFF_ROLES, User
from backend.accounts.views import SignInForm, SignInView


class ConsoleSignInForm(SignInForm):
    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if user.role not in STAFF_ROLES:
            raise forms.ValidationError(
                _("The console is for the call centre's staff."), code="not_staff"
            )


class ConsoleSignInView(SignInView):
    form_class = ConsoleSignInForm
    template_name = "console/sign_in.html"
    redirect_authenticated_user = False

    def get_default_redirect_url(self) -> str:
        return reverse("console:home")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("console:sign-in")
