"""The worker app's sign-in and sign-out: the security work's session sign-in (password,
django-axes' lockout), for workers only. Workers have no second factor, so no code field."""

from typing import Any

from django import forms
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.accounts.models import Role, User
from backend.accounts.views import SignInForm, SignInView


class WorkerSignInForm(SignInForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["otp"]  # staff only; a worker is never asked for it

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if user.role != Role.WORKER:
            raise forms.ValidationError(
                _("This app is for care workers. Staff sign in to the console."),
                code="not_worker",
            )


class WorkerSignInView(SignInView):
    form_class = WorkerSignInForm
    template_name = "workerapp/sign_in.html"
    redirect_authenticated_user = False

    def get_default_redirect_url(self) -> str:
        return reverse("workerapp:home")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("workerapp:sign-in")
