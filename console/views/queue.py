"""The live queue's fragment and the actions taken on its rows: acknowledge, dispatch and close
an alarm; acknowledge and resolve an alert; take and close a call-back. Each action calls the
same service as the API and answers the queue again, with what happened (or why not) above it.

Inputs are checked by the API's own serializers, so a refusal names the field and the reason
as the API's would. A refusal is the queue with the reason, in a 4xx; nothing is lost."""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from rest_framework import serializers

from alarms import services as alarm_services
from alarms.api.serializers import AlarmCloseInput
from alarms.selectors import alarms_for_staff
from backend.accounts.models import User
from console.access import console_user, console_view
from console.queue import queue_items
from console.refusals import act_once, refusal_line
from dispatch import escalation
from dispatch.api.serializers import AlertResolveInput
from dispatch.selectors import alerts_for_staff
from hotline import services as hotline_services
from hotline.api.serializers import CallBackCloseInput
from hotline.selectors import call_backs_visible_to


def _user(request: HttpRequest) -> User:
    user = console_user(request)
    assert user is not None  # console_view let the request in
    return user


def _queue(
    request: HttpRequest, *, notice: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    queue = queue_items(_user(request))
    return render(
        request,
        "console/queue/list.html",
        {
            "items": queue.items,
            "more": queue.more,
            "emergencies": queue.emergencies_waiting,
            "notice": notice,
            "error": error,
        },
        status=status,
    )


@require_GET
@console_view
def queue(request: HttpRequest) -> HttpResponse:
    return _queue(request)


def _act(
    request: HttpRequest,
    rows: QuerySet[Any],
    pk: int,
    action: Callable[[int, User, dict[str, Any]], Any],
    done: str,
    form: type[serializers.Serializer] | None = None,
) -> HttpResponse:
    """Find the row in what the user may see (404 otherwise), act, answer the queue."""
    user = _user(request)
    row_id = get_object_or_404(rows, pk=pk).pk
    acted = act_once(request, user, lambda values: action(row_id, user, values), form)
    if acted.refused is not None:
        refused = acted.refused
        return _queue(request, error=refusal_line(refused), status=refused.status_code)
    return _queue(request, notice=acted.notice(done))


@require_POST
@console_view
def alarm_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        alarms_for_staff(_user(request)),
        pk,
        lambda pk, user, _v: alarm_services.alarm_acknowledge(alarm_id=pk, user=user),
        _("Alarm acknowledged: it is yours."),
    )


@require_POST
@console_view
def alarm_dispatch(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        alarms_for_staff(_user(request)),
        pk,
        lambda pk, user, _v: alarm_services.alarm_dispatch(alarm_id=pk, user=user),
        _("Help dispatched: an emergency request is matching now."),
    )


@require_POST
@console_view
def alarm_close(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        alarms_for_staff(_user(request)),
        pk,
        lambda pk, user, values: alarm_services.alarm_close(alarm_id=pk, user=user, **values),
        _("Alarm closed with its outcome."),
        AlarmCloseInput,
    )


@require_POST
@console_view
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        alerts_for_staff(_user(request)),
        pk,
        lambda pk, user, _v: escalation.alert_acknowledge(alert_id=pk, user=user),
        _("Alert acknowledged: it is yours."),
    )


@require_POST
@console_view
def alert_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        alerts_for_staff(_user(request)),
        pk,
        lambda pk, user, values: escalation.alert_resolve(alert_id=pk, user=user, **values),
        _("Alert resolved."),
        AlertResolveInput,
    )


@require_POST
@console_view
def call_back_take(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        call_backs_visible_to(_user(request), open_only=False),
        pk,
        lambda pk, user, _v: hotline_services.call_back_take(call_back_id=pk, user=user),
        _("Call-back taken: it is yours to make."),
    )


@require_POST
@console_view
def call_back_close(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        call_backs_visible_to(_user(request), open_only=False),
        pk,
        lambda pk, user, values: hotline_services.call_back_close(
            call_back_id=pk, user=user, **values
        ),
        _("Call-back closed."),
        CallBackCloseInput,
    )
