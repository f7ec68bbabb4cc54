"""Who may use the family page, in one place: an active family member signed in by session."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from backend.accounts.models import Role, User

View = Callable[..., HttpResponse]


def family_user(request: HttpRequest) -> User | None:
    user = request.user
    if isinstance(user, User) and user.is_active and user.role == Role.FAMILY:
        return user
    return None


def family_view(view: View) -> View:
    """A family page: anyone not signed in goes to the sign-in; another role gets a 403."""

    @wraps(view)
    @never_cache  # a shared phone: Back after sign-out must not show the visits
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if family_user(request) is None:
            if request.user.is_authenticated:
                return render(request, "family/forbidden.html", status=403)
            if request.headers.get("HX-Request"):  # a live card's refresh: the page goes
                response = HttpResponse(status=401)
                response["HX-Redirect"] = reverse("family:sign-in")
                return response
            return redirect("family:sign-in")
        # Times are the elder's (Asia/Shanghai), whatever the server's.
        with timezone.override(settings.DISPLAY_TIME_ZONE):
            return view(request, *args, **kwargs)

    return wrapped
