"""The console's page: the live queue on the left, the workspace (call and request panels) on
the right."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from backend.core.events import events_head
from console.access import console_user, console_view


def page_context(request: HttpRequest, nav: str) -> dict[str, object]:
    """What every console page's shell needs: the nav item, and the events feed's cursor as the
    page is rendered (console.js reads the feed from there after each connect)."""
    user = console_user(request)
    assert user is not None  # console_view let the request in
    return {"nav": nav, "events_after": events_head(user)}


@console_view
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "console/home.html", page_context(request, "home"))
