"""The worker app in a real browser, against the real stack: a worker signs in, the page
registers its service worker for /worker/ and the shell (static files only) is cached, without
breaking the Content-Security-Policy (the harness fails a test that leaves a violation)."""

from tests import factories as f
from tests.browser import django_side

SHELL_WAIT_MS = 10_000


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
