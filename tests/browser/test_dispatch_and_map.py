"""Dispatch and the map in a real browser, against the real stack: the map shows a worker on
shift (and an open request) on a plain background, the tile server being unreachable, and the
worker's marker moves when the worker's app reports a new position through the API (the batch
of positions the beat task pushes); an operator takes a call, creates a request from the call
panel, and dispatches it from the request panel's candidate list. The GCJ-02 conversion runs in
the page and matches the published reference pair and the Python twin."""

from datetime import timedelta

import requests
from django.utils import timezone

from backend.core.geo import wgs84_to_gcj02
from dispatch import services
from dispatch.models import RequestState, ServiceRequest, ServiceType
from hotline import services as hotline_services
from hotline.models import Call, HotlineNumber
from providers.models import WorkerPosition
from tests import factories as f
from tests.browser import django_side, screenshot

HOTLINE = "+8643112350"
# The batch task runs every ANXIN_MAP_PUSH_S (3 s): a move shows within one period and a bit.
MOVES_WITHIN_MS = 8_000


def _worker_near_home(district, east_m: float, name: str, *, reported_s_ago: float = 0):
    provider = f.ProviderFactory(district=district)
    worker = f.WorkerFactory(provider=provider, full_name=name)
    f.place_worker(worker, f.offset(f.HOME, east_m))
    at = timezone.now() - timedelta(seconds=reported_s_ago)
    WorkerPosition.objects.filter(worker=worker).update(recorded_at=at)
    return worker


def _report_position(stack, worker, east_m: float) -> None:
    """The worker's app: signs in, reports where it is (WGS-84)."""
    token = requests.post(
        f"{stack.base}/api/v1/auth/token/",
        json={"username": worker.user.username, "password": "pw"},
        timeout=10,
    )
    assert token.status_code == 200, token.text
    point = f.offset(f.HOME, east_m)
    answer = requests.post(
        f"{stack.base}/api/v1/workers/me/location/",
        json={"location": {"type": "Point", "coordinates": [point.x, point.y]}, "crs": "wgs84"},
        headers={"Authorization": f"Bearer {token.json()['access']}"},
        timeout=10,
    )
    assert answer.status_code == 202 and answer.json() == {"stored": True}, answer.text


def _x(locator) -> float:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2


def test_the_map_shows_the_worker_and_moves_it_with_the_next_batch(stack, console_page):
    with django_side():
        district = f.DistrictFactory()
        operator = f.UserFactory(role="operator", district=district)
        elder = f.ElderFactory(district=district)
        # Reported a minute ago: the app's next report is stored at once (LOCATION_MIN_INTERVAL_S).
        worker = _worker_near_home(district, 300, "张丽", reported_s_ago=60)
        sr = services.service_request_create(
            elder=elder,
            service_type=ServiceType.objects.get(code="cleaning"),
            channel="operator",
            caller=operator,
        )
    page = console_page(operator)
    page.goto("/console/map/")
    page.locator("#link[data-state=live]").wait_for()
    if page.locator("#sound-decline").is_visible():
        page.locator("#sound-decline").click()

    marker = page.locator(f".worker-pin[data-worker='{worker.pk}']")
    marker.wait_for()
    page.locator(f".request-pin[data-request='{sr.pk}']").wait_for()
    # No tile arrives (the suite's tile server does not exist): the points are on a plain
    # background, and the page says why.
    page.locator("#district-map.tiles-off").wait_for()
    assert page.locator(".leaflet-tile-loaded").count() == 0
    assert page.locator(".worker-pin").count() == page.locator(".request-pin").count() == 1
    screenshot(page, "console-map")
    before = _x(marker)

    _report_position(stack, worker, 1300)  # a kilometre further east

    page.wait_for_function(
        """([id, before]) => {
            const el = document.querySelector(`.worker-pin[data-worker='${id}']`);
            const box = el && el.getBoundingClientRect();
            return box && box.x + box.width / 2 > before + 20;
        }""",
        arg=[worker.pk, before],
        timeout=MOVES_WITHIN_MS,
    )
    assert page.locator(".worker-pin").count() == 1  # moved, not drawn twice

    # A request on the map opens its panel beside it.
    page.locator(f".request-pin[data-request='{sr.pk}']").click()
    page.locator(f"#workspace #request-panel-{sr.pk}").wait_for()

    # The conversion for GCJ-02 tiles, in the page: the published pair and the Python twin.
    converted = page.evaluate("AnxinGeo.wgs84ToGcj02(116.404, 39.915)")
    assert converted == [116.41024449916938, 39.91640428150164]
    home = page.evaluate(f"AnxinGeo.wgs84ToGcj02({f.HOME[0]}, {f.HOME[1]})")
    assert home == list(wgs84_to_gcj02(*f.HOME))
    projected = page.evaluate(
        "(() => { const p = AnxinMap.project([116.404, 39.915], 'gcj02');"
        " return [p.lng, p.lat]; })()"
    )
    assert projected == converted


def _waiting_call(district, caller: str, sid: str) -> int:
    call = hotline_services.call_arrive(
        call_sid=sid, from_number=caller, to_number=HOTLINE, district_id=district.pk
    )
    return hotline_services.call_enqueue(call_id=call.pk, reason="operator").pk


def test_an_operator_takes_a_call_creates_a_request_and_dispatches_it_from_the_candidates(
    stack, console_page
):
    with django_side():
        district = f.DistrictFactory()
        HotlineNumber.objects.create(number=HOTLINE, district=district, label="12349")
        operator = f.UserFactory(
            role="operator", district=district, first_name="李", phone="+8613700000002"
        )
        elder = f.ElderFactory(district=district, full_name="赵秀英", phone="+8613800138333")
        near = _worker_near_home(district, 200, "张丽")
        far = _worker_near_home(district, 1500, "刘强")
        call_id = _waiting_call(district, "+8613800138333", "CA" + "c3" * 16)
    page = console_page(operator)
    page.locator("#link[data-state=live]").wait_for()
    page.locator("#sound-decline").click()

    page.locator(f"#queue [hx-post='/console/calls/{call_id}/take/']").click()
    panel = page.locator("#workspace .call-panel")
    panel.wait_for()
    page.locator("body").press("s")
    panel.locator("select[name=service_type]").select_option("meal")
    panel.locator("select[name=service_type]").press("Enter")

    # The request panel opens under the notice; matching makes its first offer (an event the
    # panel follows), and the candidates can be dispatched to, the nearest first.
    request_panel = page.locator("#workspace .request-panel")
    request_panel.wait_for()
    dispatch = request_panel.locator(f".candidate[data-worker='{near.pk}'] button.dispatch")
    # Matching starts at once (its task), or at the sweeper's next pass (every 10 s) if the task
    # is held up on a busy machine: past that, something is wrong.
    dispatch.wait_for(timeout=25_000)
    rows = request_panel.locator(".candidate")
    assert [rows.nth(i).get_attribute("data-worker") for i in range(rows.count())] == [
        str(near.pk),
        str(far.pk),
    ]
    request_panel.locator(".request-map .candidate-pin").first.wait_for()
    request_panel.locator(".request-map .elder-pin").wait_for()
    screenshot(page, "console-request-panel")

    page.locator("body").press("d")  # the top candidate's button

    page.locator("#workspace .request-panel[data-state=assigned]").wait_for()
    assert "张丽" in page.locator("#workspace .request-panel .assigned-worker").inner_text()
    with django_side():
        sr = ServiceRequest.objects.get(elder=elder)
        taken = Call.objects.get(pk=call_id)
    assert (sr.state, sr.assigned_worker_id) == (RequestState.ASSIGNED, near.pk)
    assert sr.channel == "operator" and sr.caller_id == operator.pk
    assert taken.taken_by_id == operator.pk

    # The worker sets out and checks in at the door at once: two changes, the second arriving
    # while the panel is still fetching the first. The panel ends showing the last.
    token = requests.post(
        f"{stack.base}/api/v1/auth/token/",
        json={"username": near.user.username, "password": "pw"},
        timeout=10,
    ).json()["access"]
    worker = {"Authorization": f"Bearer {token}"}
    at_the_door = {"location": {"type": "Point", "coordinates": list(f.HOME)}}
    for step, body in (("set-out", None), ("check-in", at_the_door)):
        answer = requests.post(
            f"{stack.base}/api/v1/requests/{sr.pk}/{step}/", json=body, headers=worker, timeout=10
        )
        assert answer.status_code in (200, 201), answer.text
    page.locator("#workspace .request-panel[data-state=on_site]").wait_for(timeout=5_000)
