"""The installable shell: the web app manifest and the service worker, both under /worker/ so
the service worker's scope is the app (and nothing else of the platform)."""

import hashlib
import json

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

# The app shell: what the service worker keeps for the app to open quickly and offline. Static
# files only; never a page or an API answer (they hold the worker's and elders' data).
SHELL_FILES = (
    "workerapp/worker.css",
    "workerapp/worker.js",
    "workerapp/visit.js",
    "workerapp/visits.js",
    "workerapp/visit-queue.js",
    "workerapp/icon.svg",
    "workerapp/icon-192.png",
    "workerapp/icon-512.png",
)
THEME_COLOUR = "#0b6e6e"
BACKGROUND_COLOUR = "#ffffff"


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    home = reverse("workerapp:home")
    body = {
        "name": _("Anxin worker"),
        "short_name": _("Anxin"),
        "description": _("Offers, today's jobs and visits for care workers."),
        "lang": get_language(),
        "id": home,
        "start_url": home,
        "scope": home,
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {"src": static("workerapp/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
            {"src": static("workerapp/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("workerapp/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        ],
    }
    response = JsonResponse(body, content_type="application/manifest+json")
    response["Vary"] = "Accept-Language"
    return response


def _shell_version() -> str:
    """Changes whenever a shell file does, so the browser installs the new service worker and
    it drops the old cache (the file's bytes are what the browser compares)."""
    digest = hashlib.sha256()
    for name in SHELL_FILES:
        found = finders.find(name)
        path = found[0] if isinstance(found, list) else found
        digest.update(name.encode())
        if path:
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()[:16]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """Served from /worker/sw.js: its scope is /worker/ (said again in Service-Worker-Allowed).
    Never cached by the browser's HTTP cache, so an update is seen on the next visit."""
    script = render_to_string(
        "workerapp/sw.js",
        {
            "shell": json.dumps([static(name) for name in SHELL_FILES]),
            "version": json.dumps(_shell_version()),
            "queue_script": json.dumps(static("workerapp/visit-queue.js")),
        },
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("workerapp:home")
    response["Cache-Control"] = "no-cache"
    return response
