"""The console's page: the live queue on the left, the workspace (call and request panels) on
the right."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.access import console_view


@console_view
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "console/home.html", {"nav": "home"})
