"""The live queue in a real browser, against the real stack: an alarm a device posts appears on
two operators' screens within two seconds, pushed (the page asks nothing while nothing happens);
one acknowledges and the other sees who; it is closed with an outcome; the web server is
restarted, an alarm arrives while it is down, and the pages show it once they reconnect."""

import json
import time
import uuid
from datetime import UTC, datetime

import requests
from django.test import Client

from alarms.models import Alarm
from alarms.protocol import signature
from backend.core.models import Event
from tests import factories as f
from tests.browser import django_side, screenshot, web_start, web_stop
from tests.conftest import api

APPEARS_WITHIN_MS = 2_000


def _signed(serial: str, secret: str, kind: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"event_id": str(uuid.uuid4()), "kind": kind, "at": datetime.now(UTC).isoformat()}
    ).encode()
    timestamp = str(int(time.time()))
    return body, {
        "Content-Type": "application/json",
        "X-Anxin-Device": serial,
        "X-Anxin-Timestamp": timestamp,
        "X-Anxin-Signature": signature(secret, timestamp, body),
    }


def _press(stack, device: tuple[str, str], kind: str = "sos") -> int:
    """The device's message, over HTTP to the stack's web server, as a gateway sends it."""
    body, headers = _signed(*device, kind)
    answer = requests.post(f"{stack.base}/api/v1/alarms/", data=body, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text
    return answer.json()["alarm_id"]


def _live(page) -> None:
    page.locator("#link[data-state=live]").wait_for()


def _events_seen(page) -> None:
    """Keep the ids of the events the page's script handles (pushed or read from the feed)."""
    page.evaluate(
        """() => { window.seenEvents = [];
            document.addEventListener("anxin:event", e => window.seenEvents.push(e.detail.id)); }"""
    )


def test_an_alarm_appears_live_is_taken_closed_and_one_sent_while_the_server_was_down_shows(
    stack, console_page
):
    with django_side():
        district = f.DistrictFactory()
        elder = f.ElderFactory(district=district, full_name="王淑珍")
        wang = f.UserFactory(role="operator", district=district, first_name="王", last_name="")
        li = f.UserFactory(role="operator", district=district, first_name="李", last_name="")
        registered = api(wang).post(
            f"/api/v1/elders/{elder.pk}/devices/",
            {"serial": "BTN-B1", "kind": "button", "heartbeat_interval_s": 600},
            format="json",
        )
        device = (registered.json()["serial"], registered.json()["secret"])
    first, second = console_page(wang), console_page(li)
    _live(first)
    _live(second)
    # Signed in, each is asked for sound: the first declines (alarms flash), the second allows.
    first.locator("#sound-decline").click()
    second.locator("#sound-allow").click()
    second.wait_for_function("!document.body.classList.contains('silent')")

    # Nothing happens, so the page asks for nothing: no polling.
    asked: list[str] = []
    first.on("request", lambda r: asked.append(r.url))
    first.wait_for_timeout(2_500)
    assert asked == []

    # A device's alarm appears on both screens within two seconds, pushed.
    alarm = _press(stack, device, "fall")
    start = time.monotonic()
    first.locator(f"#q-alarm-{alarm}").wait_for(timeout=APPEARS_WITHIN_MS)
    second.locator(f"#q-alarm-{alarm}").wait_for(timeout=APPEARS_WITHIN_MS)
    appeared_s = time.monotonic() - start
    assert appeared_s < APPEARS_WITHIN_MS / 1000
    assert all("/console/queue/" in url for url in asked)  # only what the push asked for
    assert "王淑珍" in first.locator(f"#q-alarm-{alarm}").inner_text()
    assert first.locator("#flash").is_visible()  # no sound here: the banner flashes
    second.wait_for_function("document.body.classList.contains('alarm-new')")  # a new one rings
    assert first.evaluate("document.body.classList.contains('silent')")
    screenshot(first, "console-queue")

    # The first operator takes it (the shortcut A); the second sees who, live.
    first.keyboard.press("a")
    second.locator(f"#q-alarm-{alarm}.taken").wait_for(timeout=APPEARS_WITHIN_MS)
    assert "王" in second.locator(f"#q-alarm-{alarm} .taken-by").inner_text()

    # Closed with an outcome: gone from both queues.
    item = first.locator(f"#q-alarm-{alarm}")
    item.locator("summary").click()
    item.locator("select[name=outcome]").select_option("false_alarm")
    item.locator("button[type=submit]").click()
    first.locator(f"#q-alarm-{alarm}").wait_for(state="detached")
    second.locator(f"#q-alarm-{alarm}").wait_for(state="detached", timeout=APPEARS_WITHIN_MS)

    # The web server goes away: the pages say so; an alarm arrives meanwhile (through the API's
    # own view in this process: nothing is listening to push it to); the server comes back, the
    # pages reconnect, read what they missed from the feed, and show it.
    _events_seen(second)
    web_stop(stack)
    second.locator("#link[data-state=lost]").wait_for()
    with django_side():
        body, headers = _signed(*device, "sos")
        meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        missed = Client().post(
            "/api/v1/alarms/", data=body, content_type="application/json", **meta
        )
        assert missed.status_code == 202, missed.content
        missed_id = missed.json()["alarm_id"]
        raised = Event.objects.get(kind="alarm.raised", subject_id=missed_id).pk
    web_start(stack)
    for page in (first, second):
        _live(page)
        page.locator(f"#q-alarm-{missed_id}").wait_for()
    second.wait_for_function(f"window.seenEvents.includes({raised})")


def test_a_failed_refresh_keeps_the_queue_says_so_and_tries_again(stack, console_page):
    with django_side():
        district = f.DistrictFactory()
        elder = f.ElderFactory(district=district)
        operator = f.UserFactory(role="operator", district=district)
        registered = api(operator).post(
            f"/api/v1/elders/{elder.pk}/devices/",
            {"serial": "BTN-B2", "kind": "button", "heartbeat_interval_s": 600},
            format="json",
        )
        device = (registered.json()["serial"], registered.json()["secret"])
    page = console_page(operator)
    _live(page)
    first = _press(stack, device, "sos")
    page.locator(f"#q-alarm-{first}").wait_for()
    with django_side():
        Alarm.objects.filter(pk=first).update(state="closed")  # the device may press again

    # The next refresh of the queue meets a proxy's 502; the one after goes through.
    failed: list[str] = []

    def once_bad_gateway(route):
        if not failed:
            failed.append(route.request.url)
            route.fulfill(status=502, body="<h1>502 Bad Gateway</h1>", content_type="text/html")
        else:
            route.continue_()

    page.route("**/console/queue/", once_bad_gateway)
    second = _press(stack, device, "fall")

    page.locator("#queue .stale-note").wait_for()
    assert "502" not in page.locator("#queue").inner_text()  # the list stayed
    page.locator(f"#q-alarm-{second}").wait_for(timeout=5_000)  # tried again by itself
    assert failed and page.locator("#queue .stale-note").count() == 0
