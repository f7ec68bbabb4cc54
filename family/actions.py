"""What a family member does on the family page: rate a finished visit, complain about one,
ask for a service for their own elder, choose which texts they get.

Each form is checked with the API's own input serializer and acted on through the service the
API calls (dispatch.follow_up, dispatch.services, elders.services), once per the form's
idempotency key (`{% idempotency_field %}`). A refusal is the form again with the reason, in
the refusal's own status: 400 naming the field, 404 for what is not theirs, 409 for a state,
429 with Retry-After for too many asks."""

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.settings import api_settings

from backend.accounts.models import User
from backend.core.idempotency import form_post_claim, form_post_result
from console.refusals import act_once, refusal_fields, refusal_message
from dispatch import follow_up
from dispatch.api.serializers import (
    REQUEST_WINDOW_AHEAD,
    REQUEST_WINDOW_PAST,
    ComplaintInput,
    FeedbackInput,
    RequestCreateInput,
)
from dispatch.api.throttles import RequestCreateThrottle
from dispatch.models import CHANNEL_BY_ROLE, Priority, ServiceRequest, ServiceType
from dispatch.selectors import request_visible
from dispatch.services import service_request_create
from elders.api.serializers import ContactMessagesInput
from elders.limits import Limit, TooManyAttempts, limits_hit
from elders.models import SMS_KINDS_CHOSEN, EmergencyContact
from elders.selectors import contacts_of_user, elders_visible_to
from elders.services import contact_messages_set

from .access import family_view
from .names import given_name

# A family member may ask as many services an hour as the API lets them create
# (`requests.family`, e.g. "10/hour"); the page counts its own asks (elders.limits).
ASK_RATE_SCOPE = "requests.family"

RATINGS = [
    (5, gettext_lazy("Very good")),
    (4, gettext_lazy("Good")),
    (3, gettext_lazy("All right")),
    (2, gettext_lazy("Poor")),
    (1, gettext_lazy("Very poor")),
]


def _me(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # family_view lets only a family member in
    return user


def _home_at(request_id: int) -> str:
    return f"{reverse('family:home')}#visit-{request_id}"


def _refused_context(refused: APIException) -> dict[str, Any]:
    return {"error": refusal_message(refused), "field_errors": refusal_fields(refused)}


# Rating and complaining --------------------------------------------------------------------


def _my_visit(request: HttpRequest, pk: int) -> ServiceRequest:
    """The work order, if it is one of the member's elders'; 404 otherwise (never told apart
    from one that does not exist)."""
    sr = request_visible(_me(request), pk)
    if sr is None:
        raise Http404
    return sr


def _visit_context(sr: ServiceRequest) -> dict[str, Any]:
    worker = sr.assigned_worker
    return {"visit": sr, "caregiver": given_name(worker.full_name) if worker else ""}


@require_http_methods(["GET", "POST"])
@family_view
def rate(request: HttpRequest, pk: int) -> HttpResponse:
    """Rate a finished visit, once (dispatch.follow_up.feedback_record: a low rating opens a
    complaint there, a top one is praise)."""
    sr = _my_visit(request, pk)
    context = {**_visit_context(sr), "ratings": RATINGS, "values": request.POST}
    feedback = getattr(sr, "feedback", None) if request.method == "GET" else None
    if feedback is not None:  # what was given, not a second form
        return render(request, "family/rate.html", {**context, "feedback": feedback})
    if request.method == "GET":
        if sr.state not in follow_up.RATED_STATES:
            context["error"] = _("A visit is rated once it is finished.")
            return render(request, "family/rate.html", context, status=409)
        return render(request, "family/rate.html", context)
    user = _me(request)
    acted = act_once(
        request,
        user,
        lambda values: follow_up.feedback_record(request_id=sr.pk, user=user, **values),
        FeedbackInput,
    )
    if acted.refused is not None:
        context.update(_refused_context(acted.refused))
        if getattr(acted.refused, "error_code", "") == "feedback_exists":
            context["feedback"] = ServiceRequest.objects.get(pk=sr.pk).feedback
        return render(request, "family/rate.html", context, status=acted.refused.status_code)
    messages.success(request, acted.notice(_("Thank you: your rating is recorded.")))
    return redirect(_home_at(sr.pk))


@require_http_methods(["GET", "POST"])
@family_view
def complain(request: HttpRequest, pk: int) -> HttpResponse:
    """Complain about a visit under way or past, with a reason and what happened
    (dispatch.follow_up.complaint_open), for the district to look into."""
    sr = _my_visit(request, pk)
    reason_field = ComplaintInput().fields["reason"]
    assert isinstance(reason_field, serializers.ChoiceField)
    reasons = reason_field.choices.items()
    context = {**_visit_context(sr), "reasons": reasons, "values": request.POST}
    if request.method == "GET":
        if sr.state in follow_up.NOT_YET_COMPLAINED_OF:
            context["error"] = _(
                "Nobody has taken this visit yet: there is nothing to complain of."
            )
            return render(request, "family/complain.html", context, status=409)
        return render(request, "family/complain.html", context)
    user = _me(request)
    acted = act_once(
        request,
        user,
        lambda values: follow_up.complaint_open(request_id=sr.pk, user=user, **values),
        ComplaintInput,
    )
    if acted.refused is not None:
        context.update(_refused_context(acted.refused))
        return render(request, "family/complain.html", context, status=acted.refused.status_code)
    messages.success(
        request,
        acted.notice(_("Your complaint is recorded. The district will look into it.")),
    )
    return redirect(_home_at(sr.pk))


# Asking for a service ------------------------------------------------------------------------


def askable_services() -> list[ServiceType]:
    """The catalogue a family member may ask for here: everything but emergency help, which is
    a call to 120 or 12349, or the alarm button, never a form."""
    return list(ServiceType.objects.exclude(default_priority=Priority.EMERGENCY).order_by("pk"))


def ask_limit() -> Limit:
    attempts, window_s = RequestCreateThrottle().parse_rate(
        str(api_settings.DEFAULT_THROTTLE_RATES[ASK_RATE_SCOPE])
    )
    assert attempts is not None and window_s is not None  # the setting always names a rate
    return Limit("family.ask", attempts=attempts, window_s=window_s)


def _ask_page(request: HttpRequest, *, status: int = 200, **context: Any) -> HttpResponse:
    now = timezone.localtime()
    return render(
        request,
        "family/ask.html",
        {
            "elders": elders_visible_to(_me(request)).order_by("full_name", "pk"),
            "services": askable_services(),
            "values": request.POST,
            "earliest": (now - REQUEST_WINDOW_PAST).strftime("%Y-%m-%dT%H:%M"),
            "latest": (now + REQUEST_WINDOW_AHEAD).strftime("%Y-%m-%dT%H:%M"),
            **context,
        },
        status=status,
    )


def _ask_checked(request: HttpRequest, user: User) -> tuple[dict[str, Any], Any, ServiceType]:
    """The ask, checked as the API checks a family member's new request (its input serializer,
    their own elders only), and never an emergency. Raises ValidationError naming the field,
    Http404 for an elder who is not theirs."""
    posted = {
        name: request.POST.get(name, "")
        for name in ("elder", "service_type", "window_start", "notes")
    }
    if not posted["window_start"]:
        raise serializers.ValidationError({"window_start": [_("Choose the day and time.")]})
    data = RequestCreateInput(data=posted)
    data.is_valid(raise_exception=True)
    values = dict(data.validated_data)
    elder = elders_visible_to(user).filter(pk=values["elder"]).first()
    if elder is None:
        raise Http404
    service_type = next((s for s in askable_services() if s.code == values["service_type"]), None)
    if service_type is None:
        raise serializers.ValidationError(
            {"service_type": [_("Choose one of the services listed.")]}
        )
    return values, elder, service_type


@require_http_methods(["GET", "POST"])
@family_view
def ask(request: HttpRequest) -> HttpResponse:
    """Ask for a service for one's own elder (a work order through the API's intake service,
    channel `family`). A double tap makes one request; too many asks an hour is a 429."""
    if request.method == "GET":
        return _ask_page(request)
    user = _me(request)
    try:
        values, elder, service_type = _ask_checked(request, user)
        with transaction.atomic():
            post = form_post_claim(request, user_id=user.pk, fields=values)
            if not post.first:
                messages.success(request, _("Already asked: the form was sent twice."))
                return redirect(_home_at(post.result.get("request", 0)))
            limits_hit([(ask_limit(), user.pk)], what=_("ask for a service"))
            sr = service_request_create(
                elder=elder,
                service_type=service_type,
                channel=CHANNEL_BY_ROLE[user.role],
                caller=user,
                window_start=values["window_start"],
                notes=values["notes"],
            )
            form_post_result(post, {"request": sr.pk})
    except TooManyAttempts as refused:
        answer = _ask_page(request, status=429, **_refused_context(refused))
        answer["Retry-After"] = str(refused.wait)
        return answer
    except APIException as refused:
        return _ask_page(request, status=refused.status_code, **_refused_context(refused))
    messages.success(
        request,
        _("Asked: %(service)s. It is among the upcoming visits below.")
        % {"service": service_type.local_name},
    )
    return redirect(_home_at(sr.pk))


# Which texts they get ------------------------------------------------------------------------


def _messages_page(request: HttpRequest, *, status: int = 200, **context: Any) -> HttpResponse:
    contacts = list(contacts_of_user(_me(request)))
    return render(
        request,
        "family/messages.html",
        {"contacts": contacts, "kinds": SMS_KINDS_CHOSEN, **context},
        status=status,
    )


@require_http_methods(["GET"])
@family_view
def messages_page(request: HttpRequest) -> HttpResponse:
    return _messages_page(request)


@require_POST
@family_view
def messages_set(request: HttpRequest, pk: int) -> HttpResponse:
    """Which texts the member's own contact entry for one elder gets."""
    user = _me(request)
    contact: EmergencyContact | None = contacts_of_user(user).filter(pk=pk).first()
    if contact is None:
        raise Http404
    acted = act_once(
        request,
        user,
        lambda values: contact_messages_set(contact=contact, actor=user, **values),
        ContactMessagesInput,
    )
    if acted.refused is not None:
        return _messages_page(
            request,
            status=acted.refused.status_code,
            failed=contact.pk,
            **_refused_context(acted.refused),
        )
    messages.success(
        request,
        acted.notice(_("Saved: the texts about %(elder)s.") % {"elder": contact.elder.full_name}),
    )
    return redirect("family:messages")
