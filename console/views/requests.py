"""The request panel: a work order as the operator dispatches it. What it is (service, elder,
priority, state, window, the accept and arrival targets, notes, a possible duplicate), who
could go (the ranked candidates with every term of their score, on a small map), what the
operator can do now (dispatch to a candidate, assign a named worker with a reason, send it back
through the ladder, end it with an outcome) and what has happened to it (its events).

Every action calls the same service as the API, inside one transaction with the form's
idempotency key; a refusal answers the panel again with the reason, in a 4xx. The panel follows
the live state: console.js refreshes it on every event about the request (`data-refresh-on`)."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from rest_framework import serializers

from backend.accounts.models import User
from console import request_panel as panel
from console.access import console_user, console_view
from console.refusals import act_once, refusal_line
from console.views.map import map_config
from dispatch import services
from dispatch.api.serializers import CloseInput, FailInput, OverrideInput, RequestOutput
from dispatch.models import OPEN_REQUEST_STATES, UNACCEPTED_STATES, Outcome
from dispatch.selectors import request_for_staff, request_timeline
from dispatch.transitions import OPERATOR, REQUEST_TRANSITIONS, next_state


def _user(request: HttpRequest) -> User:
    user = console_user(request)
    assert user is not None  # console_view let the request in
    return user


def _operator_may(state: str, event: str) -> bool:
    """Whether the work order's table lets an operator cause `event` in `state`."""
    found = next_state(REQUEST_TRANSITIONS, state, event)
    return found is not None and OPERATOR in found[1]


def _outcomes(form: type[serializers.Serializer]) -> list[tuple[str, str]]:
    """The outcome codes the API's input takes for this way of ending, with their labels."""
    field = form().fields["outcome"]
    assert isinstance(field, serializers.ChoiceField)
    codes = field.choices
    return [(code, str(Outcome(code).label)) for code in codes]


def _panel(
    request: HttpRequest, pk: int, *, notice: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    user = _user(request)
    # First: whatever changes after this read has a later event, and the page refreshes the
    # panel for it (console.js, `data-last-event`), however the two cross on the way.
    last_event = request_timeline(user, pk).order_by("-pk").values_list("pk", flat=True).first()
    sr = request_for_staff(user, pk)
    if sr is None:
        return render(
            request,
            "console/request/missing.html",
            {"pk": pk, "error": error or _("No such request in your district.")},
            status=404,
        )
    services.request_care_notes_read(user=user, requests=[sr])
    shown = RequestOutput(sr, context={"user": user}).data
    ranked = services.ranked_candidates(sr) if sr.state in UNACCEPTED_STATES else []
    candidates = panel.candidate_rows(sr, ranked)
    may = {
        event: _operator_may(sr.state, event)
        for event in ("override_assign", "match", "close", "fail")
    }
    context = {
        "sr": sr,
        "service": sr.service_type.local_name,
        "elder": shown["elder"],
        "notes": shown["notes"],
        "clocks": sr.state in OPEN_REQUEST_STATES,
        "show_candidates": sr.state in UNACCEPTED_STATES,
        "candidates": candidates,
        "may_dispatch": may["override_assign"],
        "may_retry": may["match"],
        "may_close": may["close"],
        "may_fail": may["fail"],
        "override_choices": panel.override_choices(user, sr) if may["override_assign"] else [],
        "close_outcomes": _outcomes(CloseInput),
        "fail_outcomes": _outcomes(FailInput),
        "timeline": panel.timeline_rows(sr, list(request_timeline(user, sr.pk))),
        "map_data": {**panel.map_points(sr, shown["elder"], candidates), "config": map_config()},
        "map_data_id": f"request-map-{sr.pk}",
        "last_event": last_event or 0,
        "notice": notice,
        "error": error,
    }
    return render(request, "console/request/panel.html", context, status=status)


@require_GET
@console_view
def request_panel(request: HttpRequest, pk: int) -> HttpResponse:
    return _panel(request, pk)


Action = Callable[[User, dict[str, Any]], object]


def _act(
    request: HttpRequest,
    pk: int,
    action: Action,
    done: str,
    form: type[serializers.Serializer] | None = None,
) -> HttpResponse:
    """Act on a request the user may see, and answer the panel (with the refusal and its
    status when the service or the form refused)."""
    user = _user(request)
    if request_for_staff(user, pk) is None:
        return _panel(request, pk)
    acted = act_once(request, user, lambda values: action(user, values), form)
    if acted.refused is not None:
        refused = acted.refused
        return _panel(request, pk, error=refusal_line(refused), status=refused.status_code)
    return _panel(request, pk, notice=acted.notice(done))


class DispatchInput(serializers.Serializer):
    worker = serializers.IntegerField()


@require_POST
@console_view
def request_dispatch(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda user, values: services.request_dispatch_candidate(
            request_id=pk, actor=user, worker_id=values["worker"]
        ),
        _("Dispatched: the worker has the job."),
        DispatchInput,
    )


@require_POST
@console_view
def request_override(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda user, values: services.request_override_assign(
            request_id=pk, actor=user, worker_id=values["worker"], reason=values["reason"]
        ),
        _("Assigned: the worker has the job."),
        OverrideInput,
    )


@require_POST
@console_view
def request_retry(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda user, _values: services.request_retry(request_id=pk, actor=user),
        _("Sent back to matching: offers go out again from the first round."),
    )


@require_POST
@console_view
def request_close(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda user, values: services.request_close(request_id=pk, actor=user, **values),
        _("Closed with its outcome."),
        CloseInput,
    )


@require_POST
@console_view
def request_fail(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda user, values: services.request_fail(request_id=pk, actor=user, **values),
        _("Ended with its outcome: nobody went."),
        FailInput,
    )
