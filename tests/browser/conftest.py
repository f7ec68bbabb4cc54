"""The browser tests' harness: one running stack and one Chromium for all the browser tests,
started with the first of them and stopped after the last (package scope: nothing of theirs runs
on during the rest of the suite); a fresh browser context per page. How to write a test:
tests/browser/__init__.py."""

import asyncio
import os
import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests import factories as f
from tests.browser import (
    CSP,
    console_lines,
    django_side,
    screenshot_dir,
    watch,
    web_running,
    web_start,
)
from tests.stack import running_stack

# Where Debian and Ubuntu put Chromium; deploy/lib.sh (chromium_path) exports the first that
# exists as ANXIN_CHROMIUM, this is for a pytest run without that set-up.
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",  # root in a container has no user namespaces for Chromium's sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No name resolves: only the stack's 127.0.0.1 is reachable, so no page, tile or update
    # check of Chromium's own goes to the internet, whatever a page asks for.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
VIEWPORT = {"width": 1366, "height": 768}
# Tiles from a port where nothing listens: the map must show its points on a plain background.
TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
# Actions, waits and navigations give up after this (Playwright's default is 30 s; its
# expect() keeps its own 5 s).
TIMEOUT_MS = 10_000
PASSWORD = "pw"  # every user's, from tests/factories.py UserFactory


def pytest_collection_modifyitems(items):
    """Every browser test starts real processes (the browser tests' stack)."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here + os.sep):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.browser)


def chromium_executable() -> str | None:
    return os.environ.get("ANXIN_CHROMIUM") or next(
        (path for path in CHROMIUM_PATHS if os.access(path, os.X_OK)), None
    )


@dataclass
class Session:
    playwright: Playwright
    browser: Browser
    loop: asyncio.AbstractEventLoop  # Playwright's, marked as running while a test uses it


@pytest.fixture(scope="package")
def browser_session():
    """Chromium for the browser tests. Skipped when there is none, except under CI (env CI),
    where that fails: CI must run the browser tests."""
    path = chromium_executable()
    if path is None:
        reason = (
            f"no Chromium at {' or '.join(CHROMIUM_PATHS)} and ANXIN_CHROMIUM is not set "
            "(deploy/test installs Debian's chromium)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    if not os.access(path, os.X_OK):
        pytest.fail(f"ANXIN_CHROMIUM={path} is not an executable")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
    except BaseException:
        playwright.stop()
        raise
    # Playwright's sync API leaves its loop marked as this thread's running loop between calls:
    # Django's code (the ORM, asyncio.run, async_to_sync) must not see it outside a test's turn.
    session = Session(playwright, browser, asyncio._get_running_loop())
    asyncio._set_running_loop(None)
    yield session
    asyncio._set_running_loop(session.loop)
    try:
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="package")
def browser(browser_session) -> Browser:
    return browser_session.browser


@pytest.fixture(scope="package")
def browser_stack(django_db_setup, tmp_path_factory):
    """The web server (two processes), a Celery worker and beat on the test database, for all
    the browser tests (its worker takes this run's queues: it must not outlive them). Only the
    test database's name is read here (django_db_setup set it); its processes connect
    themselves."""
    from backend.celery import app

    app.control.purge()  # this run's queues: nothing left over from an earlier run
    logs = tmp_path_factory.mktemp("browser-stack")
    with running_stack(logs, env={"ANXIN_MAP_TILE_URL": TILE_URL}) as stack:
        yield stack


@pytest.fixture
def stack(browser_stack, catalogue):
    """The browser tests' stack, its web server running (a test before may have stopped it). The
    test is transactional (the catalogue fixture): its rows are committed, the stack sees them,
    and the database is flushed after it."""
    if not web_running(browser_stack):
        web_start(browser_stack)
    return browser_stack


@pytest.fixture
def _playwright_turn(browser_session, stack):
    """Playwright's loop marked as running for the test (its calls need it), and no longer after:
    contexts are closed before, the database flushed after."""
    asyncio._set_running_loop(browser_session.loop)
    yield
    asyncio._set_running_loop(None)


@pytest.fixture
def new_context(browser, stack, _playwright_turn, request):
    """A factory of fresh browser contexts (cookies of their own), each watched and closed after
    the test; a Content-Security-Policy violation any of them reported fails the test."""
    contexts: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(
            base_url=stack.base,
            viewport=VIEWPORT,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(watch(context))
        return context

    yield make

    failed = getattr(request.node, "failed_call", False)
    violations = []
    for n, context in enumerate(contexts):
        lines = console_lines(context)
        violations += [line for line in lines if CSP in line]
        if failed:
            _keep_evidence(request.node, n, context, lines)
        context.close()
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations))


def _keep_evidence(node, n: int, context: BrowserContext, lines: list[str]) -> None:
    """A failed test's pages as screenshots, and their console in the test's report."""
    name = re.sub(r"[^\w.-]+", "_", node.nodeid)
    for m, page in enumerate(context.pages):
        path = screenshot_dir() / "failed" / f"{name}-{n}-{m}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(path))
        except Exception as exc:  # a page that died says why in the report instead
            lines.append(f"(no screenshot of {page.url}: {exc})")
        else:
            lines.append(f"(screenshot of {page.url}: {path})")
    node.add_report_section("teardown", f"browser console {n}", "\n".join(lines))


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """Fixtures from outside tests/browser (pytest-django's, tests/conftest.py's: the ORM) run on
    Django's side whatever their order: `def test_x(page, operator)` works. A fixture of a
    browser test module is on Playwright's: one that makes data wraps it in django_side()."""
    module = fixturedef.func.__module__
    if module == __package__ or module.startswith(f"{__package__}."):
        return (yield)
    with django_side():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.failed_call = True
    return report


@pytest.fixture
def context(new_context) -> BrowserContext:
    return new_context()


@pytest.fixture
def page(context) -> Page:
    return context.new_page()


@pytest.fixture
def console_page(new_context):
    """`console_page(user)`: a page of a context of its own, signed in to the console as `user`
    (a staff member: password and a new authenticator's code), at /console/."""

    def sign_in(user) -> Page:
        with django_side():
            code = f.totp_code(f.totp_device(user))
        page = new_context().new_page()
        page.goto("/console/sign-in/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=otp]", code)
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("button[type=submit]")
        if answer.value.status != 302:
            page.wait_for_load_state()
            alerts = page.locator("[role=alert]").all_inner_texts()
            pytest.fail(f"console sign-in as {user.username}: {answer.value.status} {alerts}")
        page.wait_for_url("**/console/")
        return page

    return sign_in
