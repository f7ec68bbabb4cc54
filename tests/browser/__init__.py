"""Browser tests: Playwright (sync API) drives Debian's Chromium, headless, against the real
stack of tests/stack.py (uvicorn ASGI, Celery worker and beat on the test database): one stack
and one browser for all the browser tests, started with the first and stopped after the last
(tests/browser/conftest.py has the fixtures).

What a test needs to know:

- Fixtures: `stack` (the running Stack; its `base` is the site's address, and every context
  has it as its base URL, so `page.goto("/console/")` works), `page` (a fresh context: 1366x768,
  zh-CN, Asia/Shanghai), `console_page(user)` (another fresh context, signed in to the console as
  `user` with the second factor: two calls are two operators' screens). No page reaches
  anything but the stack (no name resolves; the map's tiles come from a dead local port).
- Django's side: while a browser test runs, this thread's asyncio loop is marked as running
  (Playwright's sync API keeps its loop there between calls); Django refuses the ORM in a thread
  with a running loop, and a push from the test's process would be lost (logged push_failed).
  Fixtures from outside tests/browser (district, operator, elder, ...) run on Django's side
  whatever their order. In the test, or in a fixture of a browser test module, wrap Django code
  once a page exists: `with django_side(): f.ElderFactory(...)`. Never touch the ORM in a
  Playwright callback (`page.on(...)`, `page.route(...)`): it runs in the middle of a call.
- Every row a test makes is committed (the tests are transactional): the stack's processes see
  it. Live items (an alarm, a request) are best posted through the API, as a device or an
  operator would: the stack then pushes them to the pages.
- CSP: every page's console is watched; a test that leaves a Content-Security-Policy violation
  behind fails at teardown. `csp_violations(page)` lists them (a test that provokes one on
  purpose clears them after checking: `clear_csp_violations(page)`).
- A failed test leaves its pages' screenshots in var/screenshots/failed/ and their console in
  its report.
- `web_stop(stack)` / `web_start(stack)`: the web server stopped and started again on the same
  port (sockets drop, pages reconnect); a test that stops it and fails is followed by a test
  whose web server is running again.
- `screenshot(page, name)`: var/screenshots/<name>.png, or $ANXIN_SCREENSHOT_DIR (docs/ keeps
  the console's: ANXIN_SCREENSHOT_DIR=docs/screenshots regenerates them).
"""

import asyncio
import contextlib
import os
import weakref
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import BrowserContext, Page

from tests.stack import ROOT, Stack

# Processes of the web server, as running_stack starts it (two: a push made in one reaches a
# socket held by the other only through the channel layer).
WEB_WORKERS = 2
CSP = "Content Security Policy"

# What each context's pages wrote to their console, and their uncaught errors.
_console: "weakref.WeakKeyDictionary[BrowserContext, list[str]]" = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def django_side() -> Iterator[None]:
    """Run Django code (the ORM, a service that pushes, asyncio.run) inside a browser test.

    Between two of its calls Playwright's loop is suspended, yet marked as this thread's running
    loop; the mark is taken away for the block and put back before Playwright runs again."""
    loop = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)


def watch(context: BrowserContext) -> BrowserContext:
    """Record the console messages and uncaught errors of every page of `context`."""
    lines = _console.setdefault(context, [])
    context.on("console", lambda message: lines.append(f"{message.type}: {message.text}"))
    context.on("weberror", lambda error: lines.append(f"uncaught: {error.error}"))
    return context


def console_lines(context: BrowserContext) -> list[str]:
    """What the pages of `context` wrote to their console so far."""
    return _console.get(context, [])


def csp_violations(page: Page) -> list[str]:
    """The Content-Security-Policy violations the pages of `page`'s context reported so far."""
    return [line for line in console_lines(page.context) if CSP in line]


def clear_csp_violations(page: Page) -> None:
    """Forget the violations seen so far (a test that provoked one on purpose)."""
    lines = console_lines(page.context)
    lines[:] = [line for line in lines if CSP not in line]


def screenshot_dir() -> Path:
    return Path(os.environ.get("ANXIN_SCREENSHOT_DIR") or ROOT / "var" / "screenshots")


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """The page as a PNG, `<name>.png` in $ANXIN_SCREENSHOT_DIR (default var/screenshots/)."""
    path = screenshot_dir() / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


def web_running(stack: Stack) -> bool:
    proc = stack.procs.get("web")
    return proc is not None and proc.poll() is None


def web_stop(stack: Stack, *, hard: bool = False) -> None:
    """Stop the web server (SIGTERM to its process group, or `hard`: SIGKILL, nothing closes
    cleanly). Its sockets drop; Celery and beat go on."""
    if hard:
        stack.kill_hard("web")
    else:
        stack.kill("web")


def web_start(stack: Stack) -> None:
    """Start the web server again on the same port, and wait until it answers."""
    stack.start_web(workers=WEB_WORKERS)
    stack.wait_live()
