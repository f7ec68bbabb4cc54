"""The worker's visit in a real browser at phone size, the phone's position emulated: an
accepted job's page, set out, check in at the door, check out; and a check-in made while the
web server is really down is kept on the phone, sent once the server is back, and counted once
(one visit, one check-in event, the phone's time recorded beside the server's)."""

import re
import time
from datetime import datetime

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
        assert visit.client_checked_in_at == phone_time
        assert datetime.fromisoformat(events.get().data["client_at"]) == phone_time
