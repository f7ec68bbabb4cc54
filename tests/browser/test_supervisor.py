"""The supervisor's view in a real browser, against the real stack: today's figures with the
hourly chart, drawn without breaking the Content-Security-Policy; requests an operator posts
through the API are counted without a reload, the figures fetched again a few seconds apart at
most however many events the burst brings, the last of them not lost."""

import time

import requests
from playwright.sync_api import expect

from dispatch import services
from dispatch.models import ServiceType
from tests import factories as f
from tests.browser import django_side, screenshot

# The bound for a figure to follow a new request; the page waits a few seconds (its
# fragment's `delay:`) so that a burst of events costs one fetch.
UPDATES_WITHIN_MS = 15_000
FIGURES = "/console/supervisor/figures/"


def _operator_token(stack, operator, code: str) -> dict[str, str]:
    answer = requests.post(
        f"{stack.base}/api/v1/auth/token/",
        json={"username": operator.username, "password": "pw", "otp": code},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access']}"}


def test_the_chart_shows_and_new_requests_count_without_a_reload(stack, console_page):
    with django_side():
        district = f.DistrictFactory()
        elder = f.ElderFactory(district=district, full_name="赵桂英")
        boss = f.UserFactory(role="supervisor", district=district, first_name="周", last_name="")
        operator = f.UserFactory(role="operator", district=district)
        code = f.totp_code(f.totp_device(operator))
        services.service_request_create(  # one already today: the chart has a bar
            elder=elder,
            service_type=ServiceType.objects.get(code="meal"),
            channel="operator",
            caller=operator,
        )
    headers = _operator_token(stack, operator, code)
    page = console_page(boss)
    page.locator("#sound-decline").click()  # the console's question at sign-in, answered
    page.locator("nav [data-shortcut='3']").click()  # the top bar's "Today"
    page.wait_for_url("**/console/supervisor/")
    page.locator("#link[data-state=live]").wait_for()

    figure = page.locator('#figures [data-figure="requests"]')
    expect(figure).to_have_text("1")
    assert page.locator("#figures svg.chart-svg rect.bar-requests").count() == 1
    assert page.locator("#figures table.sr-only tbody tr").count() == 24
    screenshot(page, "console-supervisor")

    fetched: list[float] = []
    page.on("request", lambda r: fetched.append(time.monotonic()) if FIGURES in r.url else None)
    page.evaluate("window.notReloaded = true")
    for _ in range(3):  # a burst: created, matched, escalated (no worker), alerts raised
        _post_request(stack, headers, elder.pk)
    expect(figure).to_have_text("4", timeout=UPDATES_WITHIN_MS)
    # One more just after the figures were fetched: its events come while the page waits
    # between fetches, and must still be counted.
    _post_request(stack, headers, elder.pk)
    expect(figure).to_have_text("5", timeout=UPDATES_WITHIN_MS)

    assert page.evaluate("window.notReloaded") is True
    gaps = [b - a for a, b in zip(fetched, fetched[1:], strict=False)]
    assert all(gap >= 2.5 for gap in gaps), gaps  # never more often than every few seconds


def _post_request(stack, headers: dict[str, str], elder_id: int) -> None:
    answer = requests.post(
        f"{stack.base}/api/v1/requests/",
        json={"elder": elder_id, "service_type": "meal"},
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
