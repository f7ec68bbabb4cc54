"""The district's oversight page (docs/district.md): response figures per day or month with
charts (requests per period, the share on site within target), the alarm figures of the same
days, the providers' quality in the month of the question's last day with those below the
threshold, and the blacklist's history. Supervisors and district administrators only.

The page renders the API's own answers (dispatch/api/oversight.py, providers/api/sanctions.py,
alarms/figures.py): nothing is counted here, only drawn, as the supervisor's chart is (inline
SVG, no script)."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from rest_framework.exceptions import ValidationError

from alarms.figures import alarm_figures
from console.access import SUPERVISION_ROLES, console_user, console_view_for
from console.views.shell import page_context
from console.views.supervisor import HEIGHT, PLOT_H, PLOT_W, TOP, WIDTH, Bar, Tick, _n
from console.views.supervisor import LEFT as CHART_LEFT
from console.views.supervisor import _scale_top as scale_top
from dispatch.api.oversight import provider_quality_for, response_figures_for
from dispatch.models import ServiceType
from dispatch.response_figures import GRANULARITIES
from providers.api.sanctions import SanctionListOutput
from providers.models import Sanction, SanctionKind
from providers.selectors import providers_visible_to

district_view = console_view_for(
    SUPERVISION_ROLES,
    refusal=gettext_lazy("The district's figures are for supervisors and district administrators."),
)

FILTERS = ("from", "to", "granularity", "provider", "service_type")


@dataclass(frozen=True)
class Column:
    label: str
    value: str  # as shown in the table for screen readers
    bar: Bar | None
    label_x: str
    labelled: bool


@dataclass(frozen=True)
class PeriodChart:
    width: int
    height: int
    left: int
    right: int
    baseline: str
    label_y: str
    columns: list[Column]
    ticks: list[Tick]


def period_chart(points: list[tuple[str, float | None]], *, top: int | None = None) -> PeriodChart:
    """One bar per period (`points`: its label and value; None draws no bar), on an axis from 0
    to `top` (by default the first round number at or above the largest value). About a dozen
    labels are written under the axis, whatever the number of periods."""
    top = top or scale_top(int(max((v or 0 for _, v in points), default=0) + 0.999))
    slot = PLOT_W / max(len(points), 1)
    every = max(1, round(len(points) / 12))
    columns = []
    for i, (label, value) in enumerate(points):
        x = CHART_LEFT + i * slot
        bar = None
        if value:
            height = PLOT_H * value / top
            bar = Bar(_n(x + slot * 0.15), _n(TOP + PLOT_H - height), _n(slot * 0.7), _n(height))
        shown = "–" if value is None else f"{value:g}"
        columns.append(Column(label, shown, bar, _n(x + slot / 2), i % every == 0))
    ticks = sorted({0, top // 2 if top % 2 == 0 else 0, top})
    return PeriodChart(
        width=WIDTH,
        height=HEIGHT,
        left=CHART_LEFT,
        right=WIDTH - 8,
        baseline=_n(TOP + PLOT_H),
        label_y=_n(HEIGHT - 8),
        columns=columns,
        ticks=[Tick(value, _n(TOP + PLOT_H - PLOT_H * value / top)) for value in ticks],
    )


def _label(period: str, granularity: str) -> str:
    """2026-01-05 as 01-05 by day, 2026-01-01 as 2026-01 by month."""
    return period[5:] if granularity == "day" else period[:7]


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def _figures(request: HttpRequest) -> dict[str, Any]:
    user = console_user(request)
    assert user is not None  # district_view let the request in
    query = {name: request.GET[name] for name in FILTERS if request.GET.get(name)}
    errors: dict[str, Any] = {}
    try:
        figures = response_figures_for(user, query)
    except ValidationError as exc:  # the form says what was wrong; the default question shown
        errors = exc.detail if isinstance(exc.detail, dict) else {}
        query = {}
        figures = response_figures_for(user, {})
    granularity = figures["granularity"]
    periods = figures["periods"]
    quality = provider_quality_for(user, {"month": figures["to"][:7]})  # the last day's month
    blacklist = Sanction.objects.filter(
        provider__in=providers_visible_to(user), kind=SanctionKind.BLACKLIST
    ).select_related("provider")
    alarms = None
    if not figures["provider"] and not figures["service_type"]:
        alarms = alarm_figures(
            district_id=user.staff_district_id,
            first=date.fromisoformat(figures["from"]),
            last=date.fromisoformat(figures["to"]),
            now=timezone.now(),
        ).total
    return {
        "query": query,
        "errors": errors,
        "figures": figures,
        "requests_chart": period_chart(
            [(_label(p["period"], granularity), p["requests"]) for p in periods]
        ),
        "share_chart": period_chart(
            [(_label(p["period"], granularity), _percent(p["arrived"]["share"])) for p in periods],
            top=100,
        ),
        "alarms": alarms,
        "quality": quality,
        "below": [p for p in quality["providers"] if p["below"]],
        "blacklist": SanctionListOutput(blacklist.order_by("-decided_at", "-pk"), many=True).data,
        "providers": providers_visible_to(user).order_by("name").values_list("pk", "name"),
        "service_types": ServiceType.objects.order_by("code").values_list("code", "name_zh"),
        "granularities": GRANULARITIES,
    }


@require_GET
@district_view
def district(request: HttpRequest) -> HttpResponse:
    context = page_context(request, "district") | _figures(request)
    return render(request, "console/district/page.html", context)
