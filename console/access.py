"""Who may use the console, in one place: signed in by session with the second factor, and a
member of a district's staff (operator, supervisor, district administrator); and which of its
pages are for some of them only."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from backend.accounts.factors import needs_second_factor
from backend.accounts.models import STAFF_ROLES, SUPERVISION_ROLES, User

View = Callable[..., HttpResponse]


def console_user(request: HttpRequest) -> User | None:
    """The request's user if the console is theirs, else None."""
    user = request.user
    if not isinstance(user, User) or not user.is_active or user.role not in STAFF_ROLES:
        return None
    if needs_second_factor(user) and not user.is_verified():  # type: ignore[attr-defined]
        return None  # (is_verified: django-otp's middleware)
    return user


def console_view(view: View) -> View:
    """A console page or fragment: staff with the second factor only. A page sends anyone else
    to the sign-in; an htmx fragment answers 401 with HX-Redirect so the page follows."""

    @wraps(view)
    @never_cache  # a shared desk: Back after sign-out must not show the last operator's screen
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = console_user(request)
        if user is None:
            if request.user.is_authenticated and request.user.role not in STAFF_ROLES:
                return HttpResponseForbidden(_("The console is for the call centre's staff."))
            sign_in = f"{reverse('console:sign-in')}?{REDIRECT_FIELD_NAME}={request.path}"
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=401)
                response["HX-Redirect"] = sign_in
                return response
            return redirect(sign_in)
        # Times on the console's pages are the call centre's (Asia/Shanghai), whatever the server's.
        with timezone.override(settings.DISPLAY_TIME_ZONE):
            return view(request, *args, **kwargs)

    return wrapped


# The supervisor's view (the district's figures of the day) and the district's oversight pages:
# SUPERVISION_ROLES. An operator's console has the queue, the call panel and the map.


def console_view_for(roles: frozenset[str], *, refusal: str | Promise) -> Callable[[View], View]:
    """A console page or fragment (`console_view`) for the members of `roles` only. Other staff
    get a 403 that says so (`refusal`): a page of the console's shell, or for an htmx fragment
    the sentence alone."""

    def decorate(view: View) -> View:
        @console_view
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = console_user(request)
            assert user is not None  # console_view let the request in
            if user.role in roles:
                return view(request, *args, **kwargs)
            if request.headers.get("HX-Request"):
                return HttpResponseForbidden(format_html('<p class="error">{}</p>', refusal))
            return render(request, "console/forbidden.html", {"refusal": refusal}, status=403)

        return wrapped

    return decorate


supervision_view = console_view_for(
    SUPERVISION_ROLES,
    refusal=gettext_lazy("Today's figures are for supervisors and district administrators."),
)
