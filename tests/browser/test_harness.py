"""The harness itself: Chromium reaches the running stack, in Chinese and Shanghai time, sees the
pages' Content-Security-Policy violations, reaches nothing else, and survives a restart of the
web server."""

import pytest
from playwright.sync_api import Error

from backend.accounts.models import User
from tests.browser import (
    clear_csp_violations,
    csp_violations,
    django_side,
    web_start,
    web_stop,
)


def test_the_stacks_pages_open_with_no_csp_violation(page):
    live = page.goto("/healthz/live")
    assert live.status == 200

    docs = page.goto("/api/docs/")
    assert docs.status == 200
    page.locator("#swagger-ui .info .title").wait_for()  # drawn by the page's own scripts

    assert page.evaluate("navigator.language") == "zh-CN"
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Asia/Shanghai"
    assert csp_violations(page) == []


def test_a_csp_violation_is_seen(page):
    page.goto("/api/docs/")

    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.inlineRan = true";
            document.body.append(script);
        }"""
    )

    assert page.evaluate("window.inlineRan") is None
    assert len(csp_violations(page)) == 1
    assert "script-src" in csp_violations(page)[0]
    clear_csp_violations(page)  # provoked on purpose: the teardown check would fail the test


def test_nothing_but_the_stack_is_reachable(page):
    with pytest.raises(Error, match="ERR_NAME_NOT_RESOLVED"):
        page.goto("http://example.com/")


def test_the_page_loads_again_after_the_web_server_restarts(page, stack):
    page.goto("/healthz/live")

    web_stop(stack)
    with pytest.raises(Error, match="ERR_CONNECTION_REFUSED"):
        page.goto("/healthz/live")
    web_start(stack)

    # A new page: the refused one's error page may still be committing, and reloads by itself.
    assert page.context.new_page().goto("/healthz/live").status == 200


def test_django_fixtures_and_code_run_beside_a_page(page, operator):
    page.goto("/healthz/live")  # Playwright's loop is now marked as running in this thread

    with django_side():
        renamed = User.objects.filter(pk=operator.pk).update(first_name="王")

    assert renamed == 1
    assert page.goto("/healthz/live").status == 200  # and Playwright goes on
