"""Every page is served with a Content-Security-Policy that allows no eval and no inline script
or style without the page's nonce, and the pages we serve live with it: the admin (its map
widget included) and the API docs page. The map's tile host comes from a setting."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests import factories as f
from tests.conftest import admin_login

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent.parent
OPENING_TAG = re.compile(r"<(script|style)\b([^>]*)>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def nonce_of(response) -> str | None:
    """The response's nonce; django-csp puts one in the header only when the page used it."""
    rules = policy(response)
    nonces = {s[7:-1] for s in rules["script-src"] + rules["style-src"] if s.startswith("'nonce-")}
    assert len(nonces) <= 1, nonces
    return nonces.pop() if nonces else None


def inline_code_without_the_nonce(response) -> list[str]:
    """What a browser would refuse to run on this page: inline <script> or <style> without the
    response's nonce (a script with src=, or a JSON data block, is not inline code), and inline
    event handlers (onclick=...), which no nonce can allow."""
    html = response.content.decode()
    nonce = nonce_of(response)
    refused = [
        f"<{tag}{attrs}>"
        for tag, attrs in OPENING_TAG.findall(html)
        if not (tag.lower() == "script" and re.search(r"\ssrc=|application/json", attrs))
        and not (nonce and f'nonce="{nonce}"' in attrs)
    ]
    return refused + EVENT_HANDLER.findall(html)


def test_every_page_gets_a_policy_with_no_eval_and_no_inline_code_without_a_nonce():
    response = Client().get("/admin/login/")

    header = response["Content-Security-Policy"]
    rules = policy(response)
    assert "'unsafe-eval'" not in header and "'unsafe-inline'" not in header
    assert rules["default-src"] == ["'self'"]
    assert rules["script-src"][0] == "'self'" and rules["style-src"][0] == "'self'"
    assert rules["object-src"] == ["'none'"] and rules["frame-ancestors"] == ["'none'"]
    assert rules["base-uri"] == ["'self'"] and rules["form-action"] == ["'self'"]


def test_a_page_that_uses_the_nonce_gets_one_of_its_own_each_time():
    first, second = Client().get("/api/docs/"), Client().get("/api/docs/")

    assert nonce_of(first) and nonce_of(second) and nonce_of(first) != nonce_of(second)
    assert f'nonce="{nonce_of(first)}"' in first.content.decode()


def test_the_admin_and_its_map_widget_run_no_inline_code_without_the_nonce(district):
    platform = f.UserFactory(
        role="district_admin", district=district, is_staff=True, is_superuser=True
    )
    elder = f.ElderFactory(district=district)
    provider = f.ProviderFactory(district=district)
    client = admin_login(platform)

    for url in [
        "/admin/",
        "/admin/elders/elder/",
        f"/admin/elders/elder/{elder.pk}/change/",  # a point on the map
        f"/admin/providers/provider/{provider.pk}/change/",  # a service area on the map
        "/admin/accounts/district/add/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert inline_code_without_the_nonce(response) == [], url


def test_the_admin_map_draws_on_the_tiles_of_the_setting(district):
    platform = f.UserFactory(
        role="district_admin", district=district, is_staff=True, is_superuser=True
    )
    elder = f.ElderFactory(district=district)

    response = admin_login(platform).get(f"/admin/elders/elder/{elder.pk}/change/")

    page = response.content.decode()
    assert settings.ANXIN_MAP_TILE_URL in page
    assert "tile.openstreetmap.org" in " ".join(policy(response)["img-src"])


def test_the_api_docs_page_runs_no_inline_code_and_its_scripts_load():
    client = Client()

    page = client.get("/api/docs/")

    assert page.status_code == 200
    assert inline_code_without_the_nonce(page) == []
    sources = re.findall(r'<script[^>]*\ssrc="([^"]+)"', page.content.decode())
    assert sources, "the docs page loads its scripts from files"
    for src in sources:
        script = client.get(src.replace("&amp;", "&"))
        assert script.status_code == 200, src
        assert "javascript" in script["Content-Type"], src


def test_the_map_tile_host_in_the_policy_comes_from_the_setting():
    tiles = "https://{a-c}.tiles.example.cn/maps/{z}/{x}/{y}.png"
    env = {**os.environ, "ANXIN_MAP_TILE_URL": tiles}

    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; "
            "print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'])",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "https://*.tiles.example.cn" in shown.stdout, shown.stderr[-500:]
    assert "openstreetmap" not in shown.stdout
