"""Who may use the worker app, in one place: signed in by session, an active user whose role is
worker. (Workers have no second factor: the security work asks it of district staff only.)"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from backend.accounts.models import Role, User
from providers.models import Worker
from providers.selectors import worker_for_user

View = Callable[..., HttpResponse]


def worker_user(request: HttpRequest) -> User | None:
    """The request's user if the worker app is theirs, else None."""
    user = request.user
    if not isinstance(user, User) or not user.is_active or user.role != Role.WORKER:
        return None
    return user


def worker_view(view: View) -> View:
    """A worker app page or form: workers only. Anyone not signed in is sent to the sign-in;
    someone signed in with another role is told the app is for workers (403)."""

    @wraps(view)
    @never_cache  # a shared phone: Back after sign-out must not show the last worker's jobs
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if worker_user(request) is None:
            if request.user.is_authenticated:
                return HttpResponseForbidden(_("The worker app is for care workers."))
            sign_in = reverse("workerapp:sign-in")
            if request.headers.get("HX-Request"):  # a live card's refresh: the whole page goes
                response = HttpResponse(status=401)
                response["HX-Redirect"] = sign_in
                return response
            return redirect(f"{sign_in}?{REDIRECT_FIELD_NAME}={request.path}")
        # Times in the app are the service area's (Asia/Shanghai), whatever the server's.
        with timezone.override(settings.DISPLAY_TIME_ZONE):
            return view(request, *args, **kwargs)

    return wrapped


def me(request: HttpRequest) -> User:
    """The signed-in worker's account, in a view that `worker_view` let in."""
    user = worker_user(request)
    assert user is not None  # worker_view let the request in
    return user


def my_worker(request: HttpRequest) -> Worker:
    """The signed-in worker's record (as the API's `workers/me/` finds it); 404 without one."""
    worker = worker_for_user(user_id=me(request).pk)
    if worker is None:
        raise Http404(_("No worker record for this account."))
    return worker
