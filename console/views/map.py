"""The map: the district's on-shift workers and open requests, live. The page loads a snapshot
(`map_data`) and again after a reconnect; between the two, workers move by the batches of
console/positions.py, and requests and shifts change with the events (console/static/console/
map.js). Points are WGS-84 here; map.js converts them for GCJ-02 tiles."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from backend.accounts.models import District, User
from console.access import console_user, console_view
from console.views.shell import page_context
from dispatch.models import OPEN_REQUEST_STATES
from dispatch.selectors import requests_visible_to
from providers.models import ShiftState
from providers.selectors import workers_visible_to

# A district has a few hundred of each at most; the map stops there rather than time out.
MAX_POINTS = 2000


def map_config() -> dict[str, str]:
    """The tiles, their attribution and their coordinate system, for map.js."""
    return {
        "tiles": settings.ANXIN_MAP_TILE_URL,
        "attribution": settings.ANXIN_MAP_TILE_ATTRIBUTION,
        "crs": settings.ANXIN_MAP_TILE_CRS,
    }


def _user(request: HttpRequest) -> User:
    user = console_user(request)
    assert user is not None  # console_view let the request in
    return user


@require_GET
@console_view
def map_page(request: HttpRequest) -> HttpResponse:
    context = {**page_context(request, "map"), "map_config": map_config()}
    return render(request, "console/map/page.html", context)


def _coordinates(point: Any) -> list[float]:
    return [round(point.x, 7), round(point.y, 7)]


def workers_on_map(user: User) -> list[dict[str, Any]]:
    """The district's workers on shift with a known position (stale: older than
    LOCATION_MAX_AGE_S, too old for matching)."""
    stale_before = timezone.now() - timedelta(seconds=settings.ANXIN["LOCATION_MAX_AGE_S"])
    rows = (
        workers_visible_to(user)
        .filter(shift_state=ShiftState.ON, position__isnull=False)
        .values_list(
            "pk",
            "full_name",
            "provider__name",
            "position__point",
            "position__recorded_at",
            "position__has_capacity",
        )
        .order_by("pk")[:MAX_POINTS]
    )
    return [
        {
            "id": pk,
            "name": name,
            "provider": provider,
            "at": _coordinates(point),
            "recorded_at": recorded_at.isoformat(),
            "busy": not has_capacity,
            "stale": recorded_at < stale_before,
        }
        for pk, name, provider, point, recorded_at, has_capacity in rows
    ]


def requests_on_map(user: User) -> list[dict[str, Any]]:
    """The district's open requests at their elder's home (as far as the staff member's view of
    the elder shows it: `elder_shown`, dispatch.selectors)."""
    rows = (
        requests_visible_to(user)
        .filter(state__in=OPEN_REQUEST_STATES)
        .order_by("-created_at")[:MAX_POINTS]
    )
    shown = [(sr, getattr(sr, "elder_shown", ())) for sr in rows]
    return [
        {
            "id": sr.pk,
            "reference": sr.reference,
            "state": sr.state,
            "state_label": str(sr.get_state_display()),
            "priority": sr.priority,
            "service": sr.service_type.local_name,
            "elder": sr.elder.full_name if "full_name" in fields else "",
            "at": _coordinates(sr.elder.location),
            "panel": reverse("console:request-panel", args=[sr.pk]),
        }
        for sr, fields in shown
        if "location" in fields
    ]


def _district_bounds(user: User) -> list[list[float]] | None:
    boundary = (
        District.objects.filter(pk=user.staff_district_id)
        .values_list("boundary", flat=True)
        .first()
    )
    if boundary is None:
        return None
    west, south, east, north = boundary.extent
    return [[west, south], [east, north]]


@require_GET
@console_view
def map_data(request: HttpRequest) -> JsonResponse:
    """The snapshot: every on-shift worker and open request of the district, now."""
    user = _user(request)
    return JsonResponse(
        {
            "at": timezone.now().isoformat(),
            "bounds": _district_bounds(user),
            "workers": workers_on_map(user),
            "requests": requests_on_map(user),
        }
    )
