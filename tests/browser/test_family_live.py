"""The family page in a real browser, against the real stack: a family member signs in with the
code the platform texted (read from the stack's outbox, as the phone would get it), sees the
visit on the way with a distance that shrinks as the caregiver's phone reports its position
(pushed, never reloaded), and sees it turn to on site when the caregiver checks in."""

import json
import re
import time

import requests
from playwright.sync_api import expect

from dispatch import services
from dispatch.models import RequestState, ServiceRequest, ServiceType
from providers.models import WorkerPosition
from tests import factories as f
from tests.browser import django_side, screenshot

PHONE = {"width": 360, "height": 740}
NUMBER = "+8613900002222"
MATCHING_WAIT_S = 15
LIVE_WAIT_MS = 10_000


def texted_code(stack, to: str) -> str:
    """The sign-in code in the last SMS the stack sent to `to` (its file backend's outbox)."""
    for _ in range(50):
        if stack.outbox.exists():
            lines = [json.loads(line) for line in stack.outbox.read_text().splitlines()]
            texts = [m for m in lines if m.get("kind") == "sms" and m.get("to") == to]
            if texts:
                return re.search(r"\d{6}", texts[-1]["body"]).group(0)
        time.sleep(0.2)
    raise AssertionError(f"no SMS to {to} in {stack.outbox}")


def worker_token(stack, worker) -> dict[str, str]:
    answer = requests.post(
        f"{stack.base}/api/v1/auth/token/",
        json={"username": worker.user.username, "password": "pw"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access']}"}


def report(stack, headers, east_m: float) -> None:
    """The caregiver's phone reports where it is (`_allow_next_position` first: the server
    keeps one per interval)."""
    point = f.offset(f.HOME, east_m)
    answer = requests.post(
        f"{stack.base}/api/v1/workers/me/location/",
        json={"location": {"type": "Point", "coordinates": [point.x, point.y]}},
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 202 and answer.json()["stored"], answer.text


def test_a_family_signs_in_with_the_texted_code_and_follows_the_visit_live(stack, new_context):
    with django_side():
        district = f.DistrictFactory()
        elder = f.ElderFactory(district=district, full_name="赵桂英")
        member = f.UserFactory(role="family", phone=NUMBER)
        f.ContactFactory(elder=elder, user=member, priority=1)
        worker = f.WorkerFactory(full_name="李秀梅", provider=f.ProviderFactory(district=district))
        f.place_worker(worker, f.offset(f.HOME, 1500))
        operator = f.UserFactory(role="operator", district=district)
        sr = services.service_request_create(
            elder=elder,
            service_type=ServiceType.objects.get(code="meal"),
            channel="operator",
            caller=operator,
        )
    headers = worker_token(stack, worker)
    for _ in range(MATCHING_WAIT_S * 2):  # matching runs in the stack's Celery worker
        with django_side():
            offer = sr.offers.filter(worker=worker).first()
        if offer:
            break
        time.sleep(0.5)
    assert offer, "no offer was made"
    for step in (f"offers/{offer.pk}/accept", f"requests/{sr.pk}/set-out"):
        answer = requests.post(f"{stack.base}/api/v1/{step}/", headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text

    page = new_context().new_page()
    page.set_viewport_size(PHONE)
    page.goto("/family/")
    page.wait_for_url("**/family/sign-in/**")
    page.fill("input[name=phone]", "139 0000 2222")
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/family/sign-in/code/")
    page.fill("input[name=code]", texted_code(stack, NUMBER))
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/family/")
    expect(page.locator("#link")).to_have_attribute("data-state", "live")

    visit = page.locator(f'.visit[data-request="{sr.pk}"]')
    expect(visit).to_have_attribute("data-state", RequestState.EN_ROUTE)
    expect(visit).to_contain_text("李秀梅"[1:])  # the caregiver's given name only
    distance = visit.locator(f'[data-distance-for="{sr.pk}"] .far')
    expect(distance).to_contain_text("1.5")  # km, from the last-known position

    _allow_next_position(worker)
    report(stack, headers, 400)
    expect(distance).to_contain_text("400", timeout=LIVE_WAIT_MS)  # pushed: no reload
    _allow_next_position(worker)
    report(stack, headers, 60)
    expect(distance).to_contain_text("60", timeout=LIVE_WAIT_MS)
    screenshot(page, "family-on-the-way")

    at_the_door = {"location": {"type": "Point", "coordinates": list(f.HOME)}}
    answer = requests.post(
        f"{stack.base}/api/v1/requests/{sr.pk}/check-in/",
        json=at_the_door,
        headers=headers,
        timeout=10,
    )
    assert answer.status_code in (200, 201), answer.text
    expect(visit).to_have_attribute("data-state", RequestState.ON_SITE, timeout=LIVE_WAIT_MS)
    expect(page.locator(f'[data-distance-for="{sr.pk}"]')).to_have_count(0)
    screenshot(page, "family-on-site")
    with django_side():
        assert ServiceRequest.objects.get(pk=sr.pk).state == RequestState.ON_SITE


def _allow_next_position(worker) -> None:
    with django_side():
        WorkerPosition.objects.filter(worker=worker).update(recorded_at="2000-01-01T00:00:00Z")
