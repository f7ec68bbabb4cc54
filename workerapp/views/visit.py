"""A job's page and the visit on it: set out (a form), check in and check out (posted by
visit.js with the phone's position and time, an Idempotency-Key, and kept on the phone while it
cannot be delivered). Check-in and check-out are the API's own views, signed in by the session
(with its CSRF check) and for workers only: the same input serializers, services, idempotency
store and error shape."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import BasePermission

from backend.accounts.authentication import SessionAuthentication
from console.refusals import act_once
from dispatch.api.views import CheckInView, CheckOutView
from dispatch.services import request_set_out

from ..access import me, my_worker, worker_user, worker_view
from ..job import job_shown, my_job, visit_choices


def _page(request: HttpRequest, pk: int, *, refusal: str = "", status: int = 200) -> HttpResponse:
    user = me(request)
    sr = my_job(user, pk)
    if sr is None:  # not one of the worker's jobs (another's, or no longer theirs)
        raise Http404(_("No such job among yours."))
    shown = job_shown(user, sr)
    context = {
        "worker": my_worker(request),
        "job": shown,
        "refusal": refusal,
        "visit_config": _visit_config(pk, shown),
        **visit_choices(),
    }
    return render(request, "workerapp/job.html", context, status=status)


# How long the phone may take to find its position, and how old a fix it may give (the one the
# app's position sharing just had: a worker at the door moves little in 15 s). How often what
# the phone keeps is sent again: workerapp/kept.py.
POSITION_TIMEOUT_MS = 20_000
POSITION_MAX_AGE_MS = 15_000


def _visit_config(pk: int, shown: dict[str, Any]) -> dict[str, object]:
    """What visit.js reads (from a JSON block: no inline script): where to post, the job's
    service and time (kept with each attempt, for the home page to name the job even once it
    cannot be opened), and the sentences in the page's language. The session's token and the
    signed-in worker come from the config every page has (workerapp/kept.py)."""
    when = date_format(timezone.localtime(shown["window_start"]), "n/j H:i")
    return {
        "job": pk,
        "label": f"{shown['service']} {when}",
        "urls": {
            "check_in": reverse("workerapp:check-in", args=[pk]),
            "check_out": reverse("workerapp:check-out", args=[pk]),
        },
        "position_timeout_ms": POSITION_TIMEOUT_MS,
        "position_max_age_ms": POSITION_MAX_AGE_MS,
        "texts": {
            "locating": _("Finding where you are…"),
            "sending": _("Sending…"),
            "done_check_in": _("Checked in."),
            "done_check_out": _("Checked out."),
            "not_kept": _(
                "This phone cannot keep a check-in offline here (private browsing, or an app's "
                "own browser): it was sent directly."
            ),
            "not_sent": _("It did not arrive: try again once connected."),
            "outside": _(
                "You are %(distance)s m from the home; a check-in counts within %(limit)s m. "
                "If you are at the door, say why and check in again."
            ),
            "choose_outcome": _("Choose what the welfare check found first."),
            "position_denied": _(
                "The phone did not give its position: allow location for this app and try again."
            ),
            "position_unavailable": _(
                "The phone could not find its position: go outdoors or near a window and try again."
            ),
        },
    }


@worker_view
def job(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, pk)


@require_POST
@worker_view
def set_out(request: HttpRequest, pk: int) -> HttpResponse:
    user = me(request)
    if my_job(user, pk) is None:
        raise Http404(_("No such job among yours."))
    acted = act_once(request, user, lambda _values: request_set_out(request_id=pk, user=user))
    if acted.refused is not None:
        return _page(
            request, pk, refusal=str(acted.refused.detail), status=acted.refused.status_code
        )
    messages.success(request, acted.notice(_("On your way: the family and operators see it.")))
    return redirect("workerapp:job", pk=pk)


class WorkerOnly(BasePermission):
    message = gettext_lazy("The worker app is for care workers.")

    def has_permission(self, request, view) -> bool:
        return worker_user(request) is not None


# The API's views, for the worker app's session (with its CSRF check), workers only, and out of
# the API's schema (the app's own address, not an API).


@extend_schema(exclude=True)
class VisitCheckInView(CheckInView):
    """POST /worker/jobs/<id>/check-in/: as the API's check-in."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [WorkerOnly]


@extend_schema(exclude=True)
class VisitCheckOutView(CheckOutView):
    """POST /worker/jobs/<id>/check-out/: as the API's check-out."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [WorkerOnly]
