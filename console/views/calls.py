"""The call panel: who is calling (a call from the queue or the screen pop, or a number or name
typed), the elder's file as the operator's role allows, health notes behind a logged "show",
the caller's ID confirmed by the digits they say, and a work order in a few keystrokes.

Every read and write goes through the apps' own selectors and services, and every input
through the API's own serializers, so the panel shows and refuses what the API would: a
refusal is the fragment again with the reason (4xx, or 200 when the telephone network is at
fault, so that htmx shows it), never a 500."""

import re
import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import APIException

from backend.accounts.models import User
from backend.core.errors import NotFound
from backend.core.idempotency import (
    MAX_KEY_LENGTH,
    IdempotencyKeyReused,
    form_post_claim,
    form_post_result,
)
from console.access import console_user, console_view
from console.labels import CALL_STATES, MATCHED_ON, REQUEST_STATES, file_rows
from console.refusals import refusal_fields, refusal_message
from dispatch.api.serializers import RequestCreateInput, RequestOutput
from dispatch.models import CHANNEL_BY_ROLE, Priority, ServiceType
from dispatch.selectors import requests_possibly_duplicated, requests_visible_to
from dispatch.services import service_request_create
from elders import services as elder_services
from elders.api.filters import ElderFilter
from elders.api.serializers import HealthSerializer, PurposeInput, elder_file_output
from elders.limits import TooManyAttempts
from elders.models import Elder
from elders.selectors import (
    elder_caller_card,
    elders_by_phone,
    elders_visible_to,
    phone_to_e164,
)
from hotline import services as hotline_services
from hotline.models import Call, CallState
from hotline.selectors import call_elder_cards, calls_visible_to

RECENT_REQUESTS = 10
NAME_RESULTS = 20
# A form's fields that are not the request itself (left out of the idempotency key's body).
_NOT_THE_REQUEST = {"csrfmiddlewaretoken", "idempotency_key", "confirm_duplicate", "call"}


def _user(request: HttpRequest) -> User:
    user = console_user(request)
    assert user is not None  # console_view let the request in
    return user


def _services() -> list[tuple[str, str]]:
    return [(s.code, s.local_name) for s in ServiceType.objects.order_by("pk")]


def request_panel_url(request_id: int) -> str:
    """The request panel (console/views/requests.py), where a created request is followed."""
    return reverse("console:request-panel", args=[request_id])


# The panel ----------------------------------------------------------------------------------


def _call_context(call: Call) -> dict[str, Any]:
    """The call's header: who, where it stands, how long the caller waited (a live clock while
    they still wait)."""
    waited_until = call.taken_at or call.ended_at
    waited = None
    if call.queued_at and waited_until and waited_until >= call.queued_at:
        waited = int((waited_until - call.queued_at).total_seconds())
    return {
        "call": call,
        "call_state": CALL_STATES.get(call.state, call.state),
        "waiting_since": call.queued_at if call.state == CallState.QUEUED else None,
        "waited": waited and f"{waited // 60}:{waited % 60:02d}",
        "takeable": call.state == CallState.QUEUED,
    }


def _cards(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "matched_on_label": MATCHED_ON.get(row["matched_on"], "")} for row in rows]


def _panel(
    request: HttpRequest,
    *,
    call: Call | None = None,
    number: str = "",
    name: str = "",
    cards: list[dict[str, Any]] | None = None,
    error: str = "",
    field_errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    cards = cards or []
    context: dict[str, Any] = {
        "number": number,
        "name": name,
        "cards": cards,
        "error": error,
        "field_errors": field_errors or {},
        # A lookup ran (a call's number, a valid number, a name), or the typed text was refused.
        "searched": call is not None or bool(name) or bool(number and not field_errors),
        "search_value": number if field_errors else "",
    }
    if call is not None:
        context.update(_call_context(call))
    if len(cards) == 1:
        context.update(_elder_context(request, user, cards[0]["id"], call=call))
    return render(request, "console/call/panel.html", context, status=status)


@require_GET
@console_view
def call_panel(request: HttpRequest) -> HttpResponse:
    """`?call=<id>`: a call of the district, with the elders its number matched. `?number=`: the
    elders a typed number matches; typed without a digit, it is a name searched for."""
    user = _user(request)
    raw_call = request.GET.get("call", "").strip()
    typed = request.GET.get("number", "").strip()
    if raw_call:
        call_id = _row_id(raw_call)
        if call_id is None:
            return _panel(
                request,
                error=_("No such call."),
                field_errors={"call": [_("a call's number")]},
                status=400,
            )
        call = calls_visible_to(user).filter(pk=call_id).first()
        if call is None:
            return _panel(request, error=_("No such call in your district."), status=404)
        return _panel(
            request, call=call, number=call.from_number, cards=_cards(call_elder_cards(call))
        )
    if not typed:
        return _panel(
            request,
            error=_("Type the caller's number, or a name."),
            field_errors={"number": [_("required")]},
            status=400,
        )
    if not any(c.isdigit() for c in typed):
        found = ElderFilter(
            {"q": typed}, queryset=elders_visible_to(user).order_by("full_name", "pk")
        )
        elders = list(found.qs[:NAME_RESULTS])
        return _panel(request, name=typed, cards=_cards([elder_caller_card(e, "") for e in elders]))
    if phone_to_e164(typed) is None:
        return _panel(
            request,
            number=typed,
            error=_("That is not a phone number."),
            field_errors={"number": [_("a phone number, e.g. 138 0013 8000 or 0431-8888 1234")]},
            status=400,
        )
    matches = elders_by_phone(user=user, phone=typed)
    return _panel(
        request, number=typed, cards=_cards([elder_caller_card(e, h) for e, h in matches])
    )


@require_GET
@console_view
def call_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The call's header again (it follows the call's events)."""
    call = calls_visible_to(_user(request)).filter(pk=pk).first()
    if call is None:
        return render(
            request,
            "console/call/_status_gone.html",
            {"error": _("No such call in your district.")},
            status=404,
        )
    return render(request, "console/call/_status.html", _call_context(call))


@require_POST
@console_view
def call_take(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a waiting call (hotline.services.call_take rings the operator's own phone), then the
    panel for it. A refusal (taken by someone else, no phone registered, no such call, the
    telephone network not answering) is the panel with the reason."""
    user = _user(request)
    call = calls_visible_to(user).filter(pk=pk).first()
    if call is None:
        return _panel(request, error=_("No such call in your district."), status=404)
    try:
        hotline_services.call_take(call_id=pk, user=user)
    except APIException as refused:
        call = calls_visible_to(user).get(pk=pk)
        return _panel(
            request,
            call=call,
            number=call.from_number,
            cards=_cards(call_elder_cards(call)),
            error=refusal_message(refused),
            field_errors=refusal_fields(refused),
            status=refused.status_code,
        )
    call = calls_visible_to(user).get(pk=pk)
    return _panel(request, call=call, number=call.from_number, cards=_cards(call_elder_cards(call)))


# The elder's file ---------------------------------------------------------------------------


def _elder(user: User, pk: int) -> Elder:
    elder = elders_visible_to(user).prefetch_related("contacts", "care_needs").filter(pk=pk).first()
    if elder is None:
        raise NotFound(_("No such elder in your district."))
    return elder


def _call_of(request: HttpRequest, user: User) -> Call | None:
    pk = _row_id((request.GET.get("call") or request.POST.get("call") or "").strip())
    return calls_visible_to(user).filter(pk=pk).first() if pk is not None else None


def _row_id(raw: str) -> int | None:
    """A row's id as typed in a URL: ASCII digits only (`str.isdigit` takes "²" too)."""
    return int(raw) if re.fullmatch(r"[0-9]{1,18}", raw) else None


def _purpose_default(call: Call | None) -> str:
    if call is None:
        return _("Talking to the caller")
    return _("Talking to the caller (hotline call %(call)s)") % {"call": call.pk}


def _recent(user: User, elder_id: int) -> list[dict[str, Any]]:
    """The elder's last requests as the API shows them to this user, without the notes (reading
    a care plan's notes on an order is logged: the request panel shows them)."""
    rows = list(
        requests_visible_to(user)
        .filter(elder_id=elder_id)
        .order_by("-created_at", "-pk")[:RECENT_REQUESTS]
    )
    shown = RequestOutput(rows, many=True, context={"user": user}).data
    labels = dict(_services())
    return [
        {
            **row,
            "service_label": labels.get(row["service_type"], row["service_type"]),
            "state_label": REQUEST_STATES.get(row["state"], row["state"]),
            "panel_url": request_panel_url(row["id"]),
            "window_start_at": sr.window_start,
        }
        for sr, row in zip(rows, shown, strict=True)
    ]


def _elder_context(
    request: HttpRequest, user: User, elder_id: int, *, call: Call | None
) -> dict[str, Any]:
    elder = _elder(user, elder_id)
    data = elder_file_output(user)(elder).data
    return {
        "elder": data,
        "file_rows": file_rows(data),
        "elder_pk": elder.pk,
        "elder_call": call,
        "recent": _recent(user, elder.pk),
        "purpose_default": _purpose_default(call),
        **_request_form_context(call=call),
    }


def _request_form_context(
    *,
    call: Call | None,
    values: dict[str, str] | None = None,
    key: str = "",
) -> dict[str, Any]:
    return {
        "services": _services(),
        "priorities": Priority.values,
        "values": values or {},
        "idempotency_key": key or uuid.uuid4().hex,
        "elder_call": call,
    }


@require_GET
@console_view
def elder_section(request: HttpRequest, pk: int) -> HttpResponse:
    """One elder's section of the panel (chosen among several a number matched)."""
    user = _user(request)
    try:
        context = _elder_context(request, user, pk, call=_call_of(request, user))
    except NotFound as missing:
        return render(
            request, "console/call/_error.html", {"error": str(missing.detail)}, status=404
        )
    return render(request, "console/call/elder.html", context)


@require_GET
@console_view
def elder_requests(request: HttpRequest, pk: int) -> HttpResponse:
    """The elder's recent requests again (they follow `request.created`)."""
    user = _user(request)
    try:
        elder = _elder(user, pk)
    except NotFound as missing:
        return render(
            request, "console/call/_error.html", {"error": str(missing.detail)}, status=404
        )
    return render(
        request,
        "console/call/_requests.html",
        {"elder_pk": elder.pk, "recent": _recent(user, elder.pk)},
    )


@require_POST
@console_view
def elder_health(request: HttpRequest, pk: int) -> HttpResponse:
    """The health notes, read through elders.services.health_profile_read: logged with the
    purpose the operator gives (as the API's `GET .../health/?purpose=`)."""
    user = _user(request)
    context: dict[str, Any] = {
        "elder_pk": pk,
        "purpose": request.POST.get("purpose", ""),
        "elder_call": (call := _call_of(request, user)),
        "purpose_default": _purpose_default(call),
    }
    try:
        elder = _elder(user, pk)
        data = PurposeInput(data=request.POST)
        data.is_valid(raise_exception=True)
        purpose = data.validated_data["purpose"].strip()
        profile = elder_services.health_profile_read(elder=elder, user=user, purpose=purpose)
    except APIException as refused:
        context.update(error=refusal_message(refused), field_errors=refusal_fields(refused))
        return render(request, "console/call/_health.html", context, status=refused.status_code)
    context.update(health=HealthSerializer(profile).data, purpose=purpose, shown=True)
    return render(request, "console/call/_health.html", context)


@require_POST
@console_view
def elder_id_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Does the ID number on file end with what the caller says? Through
    elders.services.elder_id_number_check: logged, and limited (too many tries: 429)."""
    user = _user(request)
    said = request.POST.get("last_digits", "")
    context: dict[str, Any] = {"elder_pk": pk, "has_id_number": True}
    try:
        elder = _elder(user, pk)
        match = elder_services.elder_id_number_check(elder=elder, user=user, last_digits=said)
    except TooManyAttempts as refused:
        minutes = max(1, (refused.wait + 59) // 60)
        context["error"] = _(
            "Too many tries: the ID number can be checked again in %(minutes)s minutes. Confirm "
            "the caller another way (their address, a family member)."
        ) % {"minutes": minutes}
        response = render(request, "console/call/_id_check.html", context, status=429)
        response["Retry-After"] = str(refused.wait)
        return response
    except APIException as refused:
        context.update(error=refusal_message(refused), field_errors=refusal_fields(refused))
        return render(request, "console/call/_id_check.html", context, status=refused.status_code)
    context["result"] = "match" if match else "no_match"
    return render(request, "console/call/_id_check.html", context)


# A request in a few keystrokes -------------------------------------------------------------


def _window_start(raw: str) -> datetime | None:
    """A `datetime-local` value, in the display time zone (what the operator reads)."""
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return naive
    return timezone.make_aware(naive)  # the console's time zone (console_view activates it)


def _duplicates(user: User, elder_id: int, service_code: str) -> list[dict[str, Any]]:
    """The elder's open requests of this service that the user may see (a new one would be
    flagged as their possible duplicate)."""
    service = ServiceType.objects.filter(code=service_code).first()
    if service is None:
        return []
    open_ones = requests_possibly_duplicated(elder_id=elder_id, service_type_id=service.pk)
    rows = requests_visible_to(user).filter(pk__in=open_ones.values("pk")).order_by("-created_at")
    return [
        {
            "id": sr.pk,
            "reference": sr.reference,
            "state_label": REQUEST_STATES.get(sr.state, sr.state),
            "created_at": sr.created_at,
            "panel_url": request_panel_url(sr.pk),
            "service_label": sr.service_type.local_name,
        }
        for sr in rows[:5]
    ]


@require_GET
@console_view
def request_duplicates(request: HttpRequest, pk: int) -> HttpResponse:
    """The warning shown as soon as a service is chosen: the elder already has an open request
    of it."""
    user = _user(request)
    try:
        elder = _elder(user, pk)
    except NotFound as missing:
        return render(
            request, "console/call/_error.html", {"error": str(missing.detail)}, status=404
        )
    service_code = request.GET.get("service_type", "")
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,50}", service_code):  # a service's code (a slug)
        return render(request, "console/call/_duplicates.html", {"duplicates": []}, status=400)
    return render(
        request,
        "console/call/_duplicates.html",
        {
            "duplicates": _duplicates(user, elder.pk, service_code),
        },
    )


class _DuplicateNotConfirmed(Exception):
    def __init__(self, duplicates: list[dict[str, Any]]) -> None:
        self.duplicates = duplicates


@require_POST
@console_view
def request_create(request: HttpRequest, pk: int) -> HttpResponse:
    """A work order for the elder, through the API's input serializer and dispatch's intake (the
    same as `POST /api/v1/requests/`).

    Possible duplicates are named before anything is created: with an open request of the same
    service, the form comes back (409) with them and a "create anyway" button.

    A double submit creates one request: the form carries a key made when it was rendered,
    claimed as an IdempotencyRecord (the API's table, keyed by user and key) in the transaction
    that creates the request. A second submit with the key waits for the first to commit, then
    answers the request the first created; a refused submit keeps no claim, so the operator
    can correct the form and send it again."""
    user = _user(request)
    call = _call_of(request, user)
    try:
        elder = _elder(user, pk)
    except NotFound as missing:
        return render(
            request, "console/call/_error.html", {"error": str(missing.detail)}, status=404
        )
    values = {k: request.POST.get(k, "") for k in ("service_type", "when", "priority", "notes")}
    key = request.POST.get("idempotency_key", "").strip()
    form = {"elder_pk": elder.pk, **_request_form_context(call=call, values=values, key=key)}

    def refused(
        error: str, fields: dict[str, list[str]], status: int, **extra: Any
    ) -> HttpResponse:
        return render(
            request,
            "console/call/_request_form.html",
            {**form, "error": error, "field_errors": fields, **extra},
            status=status,
        )

    errors: dict[str, list[str]] = {}
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        errors["idempotency_key"] = [_("missing: reload the panel")]
    payload: dict[str, Any] = {
        "elder": elder.pk,
        "service_type": values["service_type"],
        "notes": values["notes"],
    }
    if values["priority"]:
        payload["priority"] = values["priority"]
    if values["when"]:
        start = _window_start(values["when"])
        if start is None:
            errors["when"] = [_("a date and time, or empty for now")]
        else:
            payload["window_start"] = start.isoformat()
    data = RequestCreateInput(data=payload)
    if not data.is_valid():
        for name, messages in data.errors.items():
            errors["when" if name == "window_start" else name] = [str(m) for m in messages]
    service = None
    if "service_type" not in errors:
        service = ServiceType.objects.filter(code=values["service_type"]).first()
        if service is None:
            errors["service_type"] = [_("unknown service type")]
    channel = CHANNEL_BY_ROLE.get(user.role)
    if channel is None:
        return refused(_("Your role may not create requests."), {}, 403)
    if errors or service is None:
        return refused(_("Check the fields marked below."), errors, 400)
    confirmed = request.POST.get("confirm_duplicate") == "1"
    fields = {k: v for k, v in request.POST.items() if k not in _NOT_THE_REQUEST}
    try:
        with transaction.atomic():
            post = form_post_claim(request, user_id=user.pk, fields=fields)
            if not post.first:
                request_id = int(post.result["request"])
            else:
                duplicates = _duplicates(user, elder.pk, service.code)
                if duplicates and not confirmed:
                    raise _DuplicateNotConfirmed(duplicates)
                v = data.validated_data
                sr = service_request_create(
                    elder=elder,
                    service_type=service,
                    channel=channel,
                    caller=user,
                    priority=v.get("priority"),
                    window_start=v.get("window_start"),
                    window_end=v.get("window_end"),
                    notes=v["notes"],
                )
                request_id = sr.pk
                form_post_result(post, {"request": request_id})
    except _DuplicateNotConfirmed as unconfirmed:
        return refused(
            _("This elder already has an open request for this service."),
            {},
            409,
            duplicates=unconfirmed.duplicates,
            confirm=True,
        )
    except IdempotencyKeyReused:
        return refused(
            _("This form was already sent with other values: reload the panel to start again."),
            {},
            422,
        )
    except APIException as refusal:
        return refused(refusal_message(refusal), refusal_fields(refusal), refusal.status_code)
    created = requests_visible_to(user).get(pk=request_id)
    duplicate_of = None
    if created.possible_duplicate_of_id:
        duplicate_of = requests_visible_to(user).filter(pk=created.possible_duplicate_of_id).first()
    response = render(
        request,
        "console/call/created.html",
        {
            "sr": created,
            "service_label": created.service_type.local_name,
            "state_label": REQUEST_STATES.get(created.state, created.state),
            "duplicate_of": duplicate_of,
            "replayed": not post.first,
            "panel_url": request_panel_url(created.pk),
            "duplicate_of_url": duplicate_of and request_panel_url(duplicate_of.pk),
        },
    )
    response["HX-Retarget"] = "#workspace"
    response["HX-Reswap"] = "innerHTML"
    return response
