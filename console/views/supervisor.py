"""The supervisor's view: today's figures of the staff member's district, today being the call
centre's day (backend/core/days.py). The figures come from each app's own module (work orders
and alerts: dispatch/figures.py; alarms: alarms/figures.py; waiting callers: the hotline's
selector); this module only gathers them and draws the hourly chart. The figures follow the live
state: their fragment is fetched again when a request, alert, alarm or call event arrives
(console.js), a few seconds after the first of a burst and never more often."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from alarms.figures import alarm_figures
from alarms.models import MessageKind
from backend.core.days import local_zone
from console.access import console_user, supervision_view
from console.views.shell import page_context
from dispatch.figures import HourFigures, open_alert_figures, request_figures
from dispatch.models import AlertKind, Channel, Priority
from hotline.selectors import calls_waiting

# The chart's drawing, in the SVG's own units (it scales to the page's width).
WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 12, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
SLOT = PLOT_W / 24


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str


@dataclass(frozen=True)
class HourColumn:
    hour: int
    received: int
    late: int
    received_bar: Bar
    late_bar: Bar
    label_x: str
    labelled: bool  # every third hour is named under the axis


@dataclass(frozen=True)
class Tick:
    value: int
    y: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    baseline: str
    label_y: str
    columns: list[HourColumn]
    ticks: list[Tick]


def _n(value: float) -> str:
    """A coordinate as SVG takes it (never localised: a decimal point)."""
    return f"{value:.1f}"


def _scale_top(largest: int) -> int:
    """The axis's top: the first of 1, 2, 5, 10, 20, 50, ... at or above the largest bar."""
    step = 1
    while True:
        for top in (step, 2 * step, 5 * step):
            if top >= largest:
                return top
        step *= 10


def _bar(x: float, width: float, value: int, top: int) -> Bar:
    height = PLOT_H * value / top
    return Bar(_n(x), _n(TOP + PLOT_H - height), _n(width), _n(height))


def hourly_chart(hours: list[HourFigures]) -> Chart:
    """Requests (the wider bar) and late arrivals (the narrower, beside it) per hour."""
    top = _scale_top(max((h.received for h in hours), default=0))
    columns = []
    for h in hours:
        x = LEFT + h.hour * SLOT
        columns.append(
            HourColumn(
                hour=h.hour,
                received=h.received,
                late=h.late,
                received_bar=_bar(x + SLOT * 0.1, SLOT * 0.45, h.received, top),
                late_bar=_bar(x + SLOT * 0.55, SLOT * 0.3, h.late, top),
                label_x=_n(x + SLOT / 2),
                labelled=h.hour % 3 == 0,
            )
        )
    ticks = sorted({0, top // 2 if top % 2 == 0 else 0, top})
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        baseline=_n(TOP + PLOT_H),
        label_y=_n(HEIGHT - 8),
        columns=columns,
        ticks=[Tick(value, _n(TOP + PLOT_H - PLOT_H * value / top)) for value in ticks],
    )


def _figures(request: HttpRequest) -> dict[str, Any]:
    user = console_user(request)
    assert user is not None  # supervision_view let the request in
    district_id = user.staff_district_id
    now = timezone.now()
    day = now.astimezone(local_zone()).date()
    requests = request_figures(district_id=district_id, day=day, now=now)
    alarms = alarm_figures(district_id=district_id, first=day, last=day, now=now).total
    waiting = calls_waiting(user).aggregate(count=Count("pk"), oldest=Min("queued_at"))
    alerts = open_alert_figures(district_id=district_id)
    return {
        "day": day,
        "now": now,
        "requests": requests,
        "priorities": [(Priority(p).label, n) for p, n in requests.by_priority.items()],
        "channels": [(Channel(c).label, n) for c, n in requests.by_channel.items()],
        "chart": hourly_chart(requests.hours),
        "alerts": alerts,
        "alert_kinds": [(AlertKind(k.kind).label, k) for k in alerts.by_kind],
        "alarms": alarms,
        "alarm_kinds": [(MessageKind(k).label, n) for k, n in alarms.by_kind.items()],
        "alarm_target": alarms.acknowledged_within[0],  # the platform's own target comes first
        "waiting_calls": waiting["count"],
        "waiting_since": waiting["oldest"],
    }


@require_GET
@supervision_view
def supervisor(request: HttpRequest) -> HttpResponse:
    context = page_context(request, "supervisor") | _figures(request)
    return render(request, "console/supervisor/page.html", context)


@require_GET
@supervision_view
def supervisor_figures(request: HttpRequest) -> HttpResponse:
    """The figures' fragment, fetched again when the live state changes."""
    return render(request, "console/supervisor/figures.html", _figures(request))
