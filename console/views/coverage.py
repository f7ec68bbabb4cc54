"""The district's coverage of the 15-minute circle (docs/district.md, "Coverage"): the elders no
active provider reaches, per service type (a chart) and per division code (a table), a map of
the gap's grid cells, and the list of the elders in the gap. Supervisors and district
administrators, as the coverage API (`district.access.OVERSIGHT_ROLES`).

The page renders the API's own answers (district/api/views.py: `coverage_for`, the gap list's
`coverage_gap_elders_for` with its serializer, `GridInput` for the map's question); the map's
cells are the grid API's JSON, fetched by console/static/console/coverage.js. Nothing is
counted here, only drawn."""

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from backend.accounts.models import User
from backend.core.pagination import MAX_PAGE_SIZE
from console.access import console_user, console_view_for
from console.views.district import period_chart
from console.views.map import map_config
from console.views.shell import page_context
from dispatch.models import ServiceType
from district.access import OVERSIGHT_ROLES
from district.api.serializers import GridInput
from district.api.views import coverage_for, coverage_gap_elders_for
from district.coverage import without_jit
from elders.api.filters import ElderFilter
from elders.api.serializers import ElderListOutput
from elders.models import Category, Gender

coverage_view = console_view_for(
    OVERSIGHT_ROLES,
    refusal=gettext_lazy("The district's coverage is for supervisors and district administrators."),
)

# The page's question: the grid API's parameters (the list also takes `division`, `page`).
FILTERS = ("service", "cell_m")


def _user(request: HttpRequest) -> User:
    user = console_user(request)
    assert user is not None  # coverage_view let the request in
    return user


def _share(in_gap: int, elders: int) -> int | None:
    """The share in the gap, in whole per cent (drawn from the API's two counts)."""
    return round(100 * in_gap / elders) if elders else None


def _services(coverage: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {**service, "name": names.get(service["service"], service["service"])}
        for service in coverage["services"]
    ]


def _gap_list(request: HttpRequest, service: str, errors: dict[str, Any]) -> dict[str, Any]:
    """One page of the elders in the gap, as the gap list's API gives them (its scope, its
    order, its page size and serializer), narrowed to a division code when one is asked."""
    user = _user(request)
    division = request.GET.get("division", "").strip()
    with without_jit():
        elders = coverage_gap_elders_for(user, {"service": service})
        if division:
            try:
                elders = ElderFilter(data={"division": division}, queryset=elders).qs
            except ValidationError as exc:
                errors.update(exc.detail if isinstance(exc.detail, dict) else {})
                division = ""
                elders = coverage_gap_elders_for(user, {"service": service})
        size = api_settings.PAGE_SIZE or MAX_PAGE_SIZE  # as PagePagination, no page_size asked
        page = Paginator(elders, size).get_page(request.GET.get("page"))
        rows = [_labelled(row) for row in ElderListOutput(page.object_list, many=True).data]
    return {"division": division, "gap_page": page, "gap_rows": rows}


def _labelled(row: dict[str, Any]) -> dict[str, Any]:
    """The list's codes (gender, categories) in words, for people."""
    categories = dict(Category.choices)
    return {
        **row,
        "gender": dict(Gender.choices).get(row["gender"], row["gender"]),
        "categories": [categories.get(c, c) for c in row["categories"]],
    }


def _page_link(service: str, cell_m: int, division: str) -> str:
    """The page's query without `page`, for the list's page links."""
    query = {"service": service, "cell_m": cell_m}
    if division:
        query["division"] = division
    return urlencode(query)


@require_GET
@coverage_view
def coverage(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    names = {s.code: s.local_name for s in ServiceType.objects.order_by("code")}
    query = {name: request.GET[name] for name in FILTERS if request.GET.get(name)}
    errors: dict[str, Any] = {}
    first = next(iter(names), None)
    asked = GridInput(data={"service": first, **query})
    if not asked.is_valid():  # the form says what was wrong; defaults stand in for it
        errors = dict(asked.errors)
        kept = {name: value for name, value in query.items() if name not in errors}
        asked = GridInput(data={"service": first, **kept})
        asked.is_valid(raise_exception=True)
    service = asked.validated_data["service"].code
    cell_m = asked.validated_data.get("cell_m") or settings.ANXIN["COVERAGE_CELL_M"]

    answer = coverage_for(user, {})  # every service at once: one pass over the district
    shown = _services(answer, names)
    chosen = next(s for s in shown if s["service"] == service)
    context = {
        **page_context(request, "district"),
        "coverage": answer,
        "service": chosen,
        "service_types": names.items(),
        "cell_m": cell_m,
        "min_cell_m": settings.ANXIN["COVERAGE_MIN_CELL_M"],
        "divisions": [
            {**d, "share": _share(d["in_gap"], d["elders"])} for d in chosen["divisions"]
        ],
        "chart": period_chart([(s["name"], s["in_gap"]) for s in shown]),
        "grid_url": reverse("coverage-grid") + "?" + _page_link(service, cell_m, ""),
        "map_config": map_config(),
        "errors": errors,
        **_gap_list(request, service, errors),
    }
    context["base_query"] = _page_link(service, cell_m, "")
    context["page_query"] = _page_link(service, cell_m, context["division"])
    return render(request, "console/district/coverage.html", context)


@require_GET
@coverage_view
def coverage_summary(request: HttpRequest) -> HttpResponse:
    """The district page's card (an htmx fragment, loaded after the page: the coverage of a
    large district takes seconds): the circle, the widest gap, how many services leave
    someone out."""
    names = {s.code: s.local_name for s in ServiceType.objects.all()}
    answer = coverage_for(_user(request), {})
    shown = _services(answer, names)
    widest = max(shown, key=lambda s: s["in_gap"], default=None)
    context = {
        "coverage": answer,
        "widest": widest,
        "widest_share": widest and _share(widest["in_gap"], widest["elders"]),
        "with_gaps": sum(1 for s in shown if s["in_gap"]),
        "services": len(shown),
    }
    return render(request, "console/district/coverage_summary.html", context)
