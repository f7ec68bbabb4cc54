"""The worker's visit in a real browser at phone size, the phone's position emulated: an
accepted job's page, set out, check in at the door, check out; and a check-in made while the
web server is really down is kept on the phone, sent once the server is back, and counted once
(one visit, one check-in event, the phone's time recorded beside the server's)."""

import re
import time
from datetime import datetime, timedelta

from playwright.sync_api import expect

from backend.core.models import Event
from dispatch import services
from dispatch.models import JobOffer, ServiceRequest, ServiceType, Visit
from tests import factories as f
from tests.browser import django_side, screenshot, web_start, web_stop

PHONE = {"width": 390, "height": 844}
OFFER_WAIT_S = 20
# The page tries again every 12 s (workerapp/views/visit.py RETRY_EVERY_MS), and the server
# takes a few seconds to start again.
RESEND_WAIT_MS = 40_000
# An answer that is not the visit makes the attempt wait 5 s, then 10 s, ... before it is sent
# again at the page's next 12 s try (visit-queue.js).
RETRY_WAIT_S = 45
DOOR = f.offset(f.HOME, east_m=10)


def accepted_job(name: str) -> tuple[int, object]:
    """A meal for an elder at HOME, offered by the stack's own matching to the worker nearby
    and accepted: (request id, worker). Django's side."""
    district = f.DistrictFactory()
    elder = f.ElderFactory(district=district, full_name=name, address="幸福路8号3单元")
    worker = f.WorkerFactory(full_name="李师傅", provider=f.ProviderFactory(district=district))
    f.place_worker(worker, f.offset(f.HOME, 120))
    operator = f.UserFactory(role="operator", district=district)
    sr = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="meal"),
        channel="operator",
        caller=operator,
    )
    deadline = time.monotonic() + OFFER_WAIT_S
    while not (offer := JobOffer.objects.filter(request=sr, worker=worker).first()):
        assert time.monotonic() < deadline, "no offer from the stack's matching"
        time.sleep(0.2)
    services.offer_accept(offer_id=offer.pk, user=worker.user)
    return sr.pk, worker


def phone(new_context, stack):
    """A phone-size page whose position is at the elder's door (WGS-84, as the browser's
    Geolocation API gives it)."""
    context = new_context()
    context.grant_permissions(["geolocation"], origin=stack.base)
    lng, lat = DOOR.coords
    context.set_geolocation({"latitude": lat, "longitude": lng, "accuracy": 8})
    page = context.new_page()
    page.set_viewport_size(PHONE)
    return page


def sign_in(page, worker) -> None:
    page.goto("/worker/sign-in/")
    page.fill("#id_username", worker.user.username)
    page.fill("#id_password", "pw")
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/worker/")


def state_of(sr: int) -> str:
    with django_side():
        return ServiceRequest.objects.get(pk=sr).state


def test_a_worker_sets_out_checks_in_at_the_door_and_checks_out(stack, new_context):
    with django_side():
        sr, worker = accepted_job("赵桂英")
    page = phone(new_context, stack)
    sign_in(page, worker)

    page.locator(f'a[href="/worker/jobs/{sr}/"]').click()
    page.wait_for_url(f"**/worker/jobs/{sr}/")
    expect(page.locator(".elder-name")).to_have_text("赵桂英")
    with django_side():
        number = str(ServiceRequest.objects.get(pk=sr).elder.phone)
    expect(page.locator("a.call")).to_have_attribute("href", f"tel:{number}")
    expect(page.locator("a.map")).to_have_attribute("href", re.compile(r"^https://uri\.amap\.com/"))
    screenshot(page, "worker-job-page")

    page.locator('form[action$="/set-out/"] button').click()
    page.wait_for_url(f"**/worker/jobs/{sr}/")
    assert state_of(sr) == "en_route"

    page.locator('[data-visit="check_in"]').click()
    expect(page.locator('[data-visit="check_out"]')).to_be_visible()
    expect(page.locator("#visit-status")).to_be_visible()
    assert state_of(sr) == "on_site"
    screenshot(page, "worker-checked-in")

    page.locator('[data-visit="check_out"]').click()
    expect(page.locator('[data-visit="check_out"]')).to_have_count(0)
    assert state_of(sr) == "completed"
    with django_side():
        visit = Visit.objects.get(request_id=sr)
        assert visit.check_in_distance_m < 30 and visit.check_out_distance_m < 30
        assert visit.exception_state == "" and visit.verified
        assert visit.client_checked_in_at and visit.client_checked_out_at


def test_a_check_in_made_while_the_server_is_down_is_sent_later_and_counted_once(
    stack, new_context
):
    with django_side():
        sr, worker = accepted_job("孙淑珍")
    page = phone(new_context, stack)
    sign_in(page, worker)
    page.goto(f"/worker/jobs/{sr}/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")

    web_stop(stack)
    try:
        page.locator('[data-visit="check_in"]').click()
        waiting = page.locator("#visit-waiting li")
        expect(waiting).to_have_count(1)
        kept = page.evaluate(
            """() => new Promise((resolve) => {
              const open = indexedDB.open("anxin-worker");
              open.onsuccess = () => {
                const all = open.result.transaction("visits").objectStore("visits").getAll();
                all.onsuccess = () => resolve(all.result);
              };
            })"""
        )
        assert len(kept) == 1 and kept[0]["state"] == "waiting", kept
        assert kept[0]["body"]["client_at"] and kept[0]["key"]
        screenshot(page, "worker-check-in-kept")
        time.sleep(2)  # the phone's time is before the server hears of it
    finally:
        web_start(stack)

    expect(page.locator('[data-visit="check_out"]')).to_be_visible(timeout=RESEND_WAIT_MS)
    expect(page.locator("#visit-waiting li")).to_have_count(0)
    with django_side():
        assert Visit.objects.filter(request_id=sr).count() == 1
        visit = Visit.objects.get(request_id=sr)
        assert visit.client_checked_in_at is not None
        assert visit.client_checked_in_at < visit.checked_in_at
        events = Event.objects.filter(subject_type="request", subject_id=sr, kind="request.on_site")
        assert events.count() == 1
        phone_time = datetime.fromisoformat(kept[0]["body"]["client_at"].replace("Z", "+00:00"))
        data = events.get().data
        assert datetime.fromisoformat(data["client_at"]) == phone_time  # raw, as the phone read it
        assert data["client_gap_s"] >= 2 and "client_skew_s" in data  # X-Client-Sent-At was sent
        # On the server's clock (the phone's skew added): this phone's clock is the server's.
        assert abs(visit.client_checked_in_at - phone_time) < timedelta(seconds=2)


KEPT = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("anxin-worker");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const all = open.result.transaction("visits").objectStore("visits").getAll();
    all.onsuccess = () => resolve(all.result);
  };
})"""


def answering(context, sr: int, modes: dict) -> dict:
    """Route the job's check-in, page's and service worker's alike: `modes["now"]` says what
    answers it ("portal": a captive portal's 200 HTML page, "error": the server's 500, "no_show":
    the server's 409, "server": the real server). Returns the requests seen per mode."""
    seen: dict = {"portal": [], "error": [], "no_show": [], "server": []}

    def handle(route):
        mode = modes["now"]
        seen[mode].append(route.request.headers)
        if mode == "portal":
            route.fulfill(status=200, content_type="text/html", body="<h1>Wi-Fi: sign in</h1>")
        elif mode == "error":
            route.fulfill(
                status=500,
                content_type="application/json",
                body='{"error": {"code": "server_error", "message": "Oops", "fields": {}}}',
            )
        elif mode == "no_show":
            route.fulfill(
                status=409,
                content_type="application/json",
                body='{"error": {"code": "treated_as_no_show", "message": "Treated as a no-show '
                'and given back to dispatch.", "fields": {"client_at": ["x"]}}}',
            )
        else:
            route.fallback()

    context.route(f"**/worker/jobs/{sr}/check-in/", handle)
    return seen


def wait_for(condition, seconds: float, page) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        page.wait_for_timeout(500)


def test_a_portal_page_or_a_500_keeps_the_check_in_waiting_and_it_is_sent_once_later(
    stack, new_context
):
    with django_side():
        sr, worker = accepted_job("周玉兰")
    page = phone(new_context, stack)
    modes = {"now": "server"}
    seen = answering(page.context, sr, modes)
    sign_in(page, worker)
    page.goto(f"/worker/jobs/{sr}/")
    modes["now"] = "portal"

    page.locator('[data-visit="check_in"]').click()

    expect(page.locator("#visit-waiting li")).to_have_count(1)
    expect(page.locator('[data-visit="check_in"]')).to_be_disabled()  # no second key offline
    kept = page.evaluate(KEPT)
    assert [(k["state"], k["why"], k["user"]) for k in kept] == [
        ("waiting", "not_reached", worker.user.pk)
    ]
    assert seen["portal"][0]["x-client-sent-at"]
    assert state_of(sr) == "assigned"

    modes["now"] = "error"
    wait_for(lambda: seen["error"], RETRY_WAIT_S, page)  # the 500 is tried again, same key
    expect(page.locator("#visit-waiting li")).to_have_count(1)
    assert page.evaluate(KEPT)[0]["why"] == "server"
    assert state_of(sr) == "assigned"

    modes["now"] = "server"
    expect(page.locator('[data-visit="check_out"]')).to_be_visible(timeout=RETRY_WAIT_S * 1000)
    keys = {h["idempotency-key"] for mode in seen.values() for h in mode}
    assert len(keys) == 1, "one tap, one key, however often it was sent"
    assert page.evaluate(KEPT) == []
    with django_side():
        assert Visit.objects.filter(request_id=sr).count() == 1
        events = Event.objects.filter(subject_type="request", subject_id=sr, kind="request.on_site")
        assert events.count() == 1


def test_a_refusal_for_a_job_no_longer_open_is_read_and_dismissed_on_the_home_page(
    stack, new_context
):
    with django_side():
        sr, worker = accepted_job("吴秀珍")
    page = phone(new_context, stack)
    modes = {"now": "no_show"}
    answering(page.context, sr, modes)
    sign_in(page, worker)
    page.goto(f"/worker/jobs/{sr}/")

    page.locator('[data-visit="check_in"]').click()

    message = "Treated as a no-show and given back to dispatch."
    expect(page.locator("#visit-refused-text")).to_have_text(message)  # words, no field names
    page.goto("/worker/")
    card = page.locator("#visits-kept")
    expect(card).to_be_visible()
    expect(card.locator("li.refused")).to_contain_text(message)
    screenshot(page, "worker-home-refused-kept")
    card.locator("li.refused button").click()
    expect(card).to_be_hidden()
    assert page.evaluate(KEPT) == []


def test_without_indexeddb_the_check_in_is_sent_directly(stack, new_context):
    with django_side():
        sr, worker = accepted_job("郑桂芳")
    page = phone(new_context, stack)
    page.add_init_script('Object.defineProperty(window, "indexedDB", {value: undefined})')
    sign_in(page, worker)
    page.goto(f"/worker/jobs/{sr}/")

    page.locator('[data-visit="check_in"]').click()

    expect(page.locator('[data-visit="check_out"]')).to_be_visible()
    assert state_of(sr) == "on_site"
    not_kept = page.evaluate(
        'JSON.parse(document.getElementById("visit-config").textContent).texts.not_kept'
    )
    expect(page.locator("#visit-status")).to_contain_text(not_kept)  # and it says so


def test_on_a_shared_phone_a_kept_check_in_waits_for_its_own_worker(stack, new_context):
    with django_side():
        sr, first = accepted_job("冯秀英")
        _other_job, second = accepted_job("陈桂兰")
    page = phone(new_context, stack)
    modes = {"now": "error"}
    seen = answering(page.context, sr, modes)
    warnings: list[str] = []
    page.on("dialog", lambda dialog: (warnings.append(dialog.message), dialog.accept()))
    sign_in(page, first)
    page.goto(f"/worker/jobs/{sr}/")
    page.locator('[data-visit="check_in"]').click()
    expect(page.locator("#visit-waiting li")).to_have_count(1)

    page.goto("/worker/")
    page.locator("form.sign-out button").click()
    page.wait_for_url("**/worker/sign-in/**")
    assert len(warnings) == 1, "warned: a check-in still waits on the phone"
    modes["now"] = "server"
    sign_in(page, second)
    page.wait_for_timeout(15_000)  # the page's next try, and the service worker's start

    assert seen["server"] == [] and state_of(sr) == "assigned"
    expect(page.locator("#visits-kept")).to_be_hidden()
    page.locator("form.sign-out button").click()
    page.wait_for_url("**/worker/sign-in/**")
    assert len(warnings) == 1, "nothing of the second worker's waited"
    sign_in(page, first)
    wait_for(lambda: state_of(sr) == "on_site", RETRY_WAIT_S, page)
    assert len({h["idempotency-key"] for h in seen["error"] + seen["server"]}) == 1
