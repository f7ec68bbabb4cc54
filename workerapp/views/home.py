"""The worker's home: on or off shift, pending offers (accept, decline) and today's jobs. Each
change goes through the service the API's own view calls, with the API's input serializer; a
refusal is the page again with the reason, in the refusal's own 4xx."""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import APIException

from dispatch.api.serializers import DeclineInput
from dispatch.services import offer_accept, offer_decline
from providers.api.serializers import ShiftInput
from providers.models import ShiftState
from providers.services import worker_shift_set

from ..access import me, my_worker, worker_view
from ..today import jobs_today, pending_offers

# Why a worker declines: one tap. The reason is kept on the offer (JobOffer.decline_reason).
DECLINE_REASONS = {
    "too_far": gettext_lazy("Too far"),
    "busy": gettext_lazy("Busy with another job"),
    "not_my_skill": gettext_lazy("Not a service I give"),
    "other": gettext_lazy("Another reason"),
}


def _page(request: HttpRequest, *, refusal: str = "", status: int = 200) -> HttpResponse:
    user = me(request)
    worker = my_worker(request)
    context = {
        "worker": worker,
        "shift_states": ShiftState.choices,
        "offers": pending_offers(user),
        "jobs": jobs_today(user),
        "decline_reasons": DECLINE_REASONS.items(),
        "refusal": refusal,
    }
    return render(request, "workerapp/home.html", context, status=status)


def _refused(request: HttpRequest, refused: APIException) -> HttpResponse:
    detail = refused.detail
    if isinstance(detail, dict):
        reason = "; ".join(f"{field}: {' '.join(map(str, m))}" for field, m in detail.items())
    else:
        reason = str(detail)
    return _page(request, refusal=reason, status=refused.status_code)


def _act(request: HttpRequest, action: Callable[[], object], done: str) -> HttpResponse:
    try:
        action()
    except APIException as refused:
        return _refused(request, refused)
    messages.success(request, done)
    return redirect("workerapp:home")


@worker_view
def home(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_GET
@worker_view
def offers(request: HttpRequest) -> HttpResponse:
    """The offers card alone: what the page asks for when an offer's event is pushed (a new
    offer, or one withdrawn, expired or taken)."""
    context = {
        "worker": my_worker(request),
        "offers": pending_offers(me(request)),
        "decline_reasons": DECLINE_REASONS.items(),
    }
    return render(request, "workerapp/_offers.html", context)


@require_POST
@worker_view
def shift(request: HttpRequest) -> HttpResponse:
    worker = my_worker(request)
    data = ShiftInput(data=request.POST)

    def change() -> None:
        data.is_valid(raise_exception=True)
        worker_shift_set(worker=worker, state=data.validated_data["state"], actor=me(request))

    return _act(request, change, _("Shift updated."))


@require_POST
@worker_view
def offer_accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = me(request)
    return _act(
        request,
        lambda: offer_accept(offer_id=pk, user=user),
        _("Accepted: the job is yours. The elder's name and address are below."),
    )


@require_POST
@worker_view
def offer_decline_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = me(request)
    data = DeclineInput(data=request.POST)

    def decline() -> None:
        data.is_valid(raise_exception=True)
        offer_decline(offer_id=pk, user=user, reason=data.validated_data["reason"])

    return _act(request, decline, _("Declined."))
