"""Every API error is JSON, even where no DRF view is involved."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_an_unknown_api_url_answers_json_404(settings):
    settings.DEBUG = False

    response = Client().get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


def test_an_error_outside_any_view_answers_json_500_on_api_paths(settings):
    """A middleware that fails: Django's own handler500, not DRF's exception handler."""
    settings.DEBUG = False
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.core.test_error_pages.Broken"]
    client = Client(raise_request_exception=False)

    api = client.get("/api/v1/service-types/")
    page = client.get("/admin/login/")

    assert api.status_code == 500 and api.json()["error"]["code"] == "server_error"
    assert page.status_code == 500 and not page["Content-Type"].startswith("application/json")


class Broken:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raise RuntimeError("a middleware failed")
