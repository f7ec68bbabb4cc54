"""The worker app in a real browser, against the real stack: a worker signs in, the page
registers its service worker for /worker/ and the shell (static files only) is cached, without
breaking the Content-Security-Policy (the harness fails a test that leaves a violation)."""

import re

from playwright.sync_api import expect

from dispatch import services
from dispatch.models import JobOffer, ServiceType
from providers.models import WorkerPosition
from tests import factories as f
from tests.browser import django_side, screenshot

SHELL_WAIT_MS = 10_000
OFFER_WAIT_S = 15
PHONE = {"width": 390, "height": 844}


def test_a_worker_signs_in_and_the_app_installs_its_service_worker(stack, page):
    with django_side():
        worker = f.WorkerFactory(full_name="李师傅")

    page.goto("/worker/")
    page.wait_for_url("**/worker/sign-in/?next=/worker/")
    page.fill("#id_username", worker.user.username)
    page.fill("#id_password", "pw")
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/worker/")

    assert page.locator(".topbar .who").inner_text() == "李师傅"
    scope = page.evaluate(  # `ready` never settles without a registration: give up after a while
        """(ms) => Promise.race([
          navigator.serviceWorker.ready.then((r) => r.scope),
          new Promise((resolve) => setTimeout(() => resolve(null), ms)),
        ])""",
        SHELL_WAIT_MS,
    )
    assert scope == f"{stack.base}/worker/"
    page.wait_for_function(
        "caches.keys().then((k) => k.some((n) => n.startsWith('anxin-worker-shell-')))",
        timeout=SHELL_WAIT_MS,
    )
    kept = page.evaluate(
        """async () => {
          const urls = [];
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const r of await cache.keys()) urls.push(new URL(r.url).pathname);
          }
          return urls;
        }"""
    )
    assert kept and all(url.startswith("/static/workerapp/") for url in kept), kept
    manifest = page.evaluate(
        "fetch(document.querySelector('link[rel=manifest]').href).then((r) => r.json())"
    )
    assert manifest["start_url"] == "/worker/" and manifest["display"] == "standalone"


def test_an_offer_arrives_live_without_the_elder_and_once_accepted_the_elder_is_there(
    stack, new_context
):
    """At phone size, the app open and the phone's position shared: the worker's position
    reaches the server from the phone; a request made then reaches the open page with no
    reload (pushed); the offer (service, time, distance, a countdown that ticks) is recorded as
    seen; accepted with one tap, then today's job with the elder's name and address."""
    with django_side():
        district = f.DistrictFactory()
        elder = f.ElderFactory(district=district, full_name="赵桂英", address="幸福路8号3单元")
        worker = f.WorkerFactory(full_name="李师傅", provider=f.ProviderFactory(district=district))
        WorkerPosition.objects.filter(worker=worker).delete()
        operator = f.UserFactory(role="operator", district=district)
    context = new_context()
    here = f.offset(f.HOME, 120)
    context.grant_permissions(["geolocation"])
    context.set_geolocation({"longitude": here.x, "latitude": here.y, "accuracy": 10})
    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto("/worker/sign-in/")
    page.fill("#id_username", worker.user.username)
    page.fill("#id_password", "pw")
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/worker/")
    expect(page.locator("#link")).to_have_attribute("data-state", "live")
    expect(page.locator("#position")).to_contain_text(re.compile(r"\d\d:\d\d:\d\d"))
    with django_side():
        stored = WorkerPosition.objects.get(worker=worker).point
        assert stored.distance(here) < 1e-6  # the emulated position, from the phone
        services.service_request_create(
            elder=elder,
            service_type=ServiceType.objects.get(code="meal"),
            channel="operator",
            caller=operator,
        )

    offer = page.locator(".offer")  # matching runs in the stack's Celery worker; no reload
    expect(offer).to_have_count(1, timeout=OFFER_WAIT_S * 1000)
    expect(offer.locator("time[data-clock=countdown]")).to_have_text(re.compile(r"^\d+:\d\d$"))
    assert "赵桂英" not in page.content() and "幸福路" not in page.content()
    for _ in range(20):  # the page tells the server the offer was seen
        with django_side():
            opened = JobOffer.objects.filter(worker=worker, opened_at__isnull=False).exists()
        if opened:
            break
        page.wait_for_timeout(250)
    assert opened
    screenshot(page, "worker-offer")
    offer.locator("button.primary").click()
    page.wait_for_url("**/worker/")

    job = page.locator(".job")
    expect(job.locator(".elder-name")).to_have_text("赵桂英")
    expect(job.locator(".elder-address")).to_have_text("幸福路8号3单元")
    expect(page.locator(".notice.done")).to_be_visible()
    screenshot(page, "worker-job")
