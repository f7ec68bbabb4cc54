"""The worker app installs: its manifest and service worker are served under /worker/ with the
types browsers need, the page links both, and the sign-in lets workers in and no one else."""

import json
import re

import pytest
from django.test import Client

from tests import factories as f

pytestmark = pytest.mark.django_db


def test_the_manifest_is_a_web_app_manifest_that_starts_at_the_app():
    response = Client().get("/worker/manifest.webmanifest")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["start_url"] == "/worker/"
    assert manifest["scope"] == "/worker/"
    assert manifest["display"] == "standalone"
    assert manifest["name"] and manifest["theme_color"] and manifest["background_color"]
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert Client().get(icon["src"]).status_code == 200, icon["src"]


def test_the_service_worker_is_served_as_script_for_the_scope_of_the_app():
    response = Client().get("/worker/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/worker/"
    assert "no-cache" in response["Cache-Control"]
    script = response.content.decode()
    listed = re.search(r"const SHELL = (\[.*?\]);", script)
    assert listed is not None
    shell = json.loads(listed.group(1))
    assert shell and all(url.startswith("/static/workerapp/") for url in shell)
    for url in shell:
        assert Client().get(url).status_code == 200, url


def test_the_service_worker_keeps_the_shell_only_never_pages_or_api_answers():
    script = Client().get("/worker/sw.js").content.decode()

    assert "/api/" not in script
    assert "cache.put" not in script  # nothing fetched at run time is stored
    assert 'request.method !== "GET"' in script


def test_the_page_links_the_manifest_and_registers_the_worker_from_its_own_script(make_worker):
    client = Client()
    client.force_login(make_worker().user)

    response = client.get("/worker/")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<link rel="manifest" href="/worker/manifest.webmanifest">' in html
    assert 'data-sw-url="/worker/sw.js"' in html and 'data-sw-scope="/worker/"' in html
    assert "<script>" not in html and " style=" not in html and " onclick=" not in html
    policy = response["Content-Security-Policy"]
    # worker-src and manifest-src fall back to default-src 'self' (worker-src via script-src).
    assert "default-src 'self'" in policy
    assert "worker-src" not in policy and "manifest-src" not in policy


def test_someone_not_signed_in_is_sent_to_the_sign_in():
    response = Client().get("/worker/")

    assert response.status_code == 302
    assert response["Location"] == "/worker/sign-in/?next=/worker/"


def test_a_worker_signs_in_with_username_and_password(make_worker):
    worker = make_worker()
    client = Client()

    response = client.post("/worker/sign-in/", {"username": worker.user.username, "password": "pw"})

    assert response.status_code == 302 and response["Location"] == "/worker/"
    assert client.get("/worker/").status_code == 200


@pytest.mark.parametrize("role", ["operator", "family", "provider_admin"])
def test_the_sign_in_refuses_anyone_who_is_not_a_worker(role, english):
    user = f.UserFactory(role=role)
    client = Client()

    response = client.post("/worker/sign-in/", {"username": user.username, "password": "pw"})

    assert response.status_code == 200
    assert "This app is for care workers." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_another_role_signed_in_elsewhere_is_refused_the_app(operator):
    client = Client()
    client.force_login(operator)

    assert client.get("/worker/").status_code == 403


def test_a_wrong_password_counts_towards_the_lockout(make_worker, settings):
    worker = make_worker()
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/worker/sign-in/", {"username": worker.user.username, "password": "no"})

    response = client.post("/worker/sign-in/", {"username": worker.user.username, "password": "pw"})

    assert "_auth_user_id" not in client.session
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_sign_out_is_a_post(make_worker):
    client = Client()
    client.force_login(make_worker().user)

    assert client.get("/worker/sign-out/").status_code == 405
    response = client.post("/worker/sign-out/")

    assert response["Location"] == "/worker/sign-in/"
    assert client.get("/worker/").status_code == 302
