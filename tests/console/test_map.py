"""The map through Django's test client and a socket: the page and its snapshot (scope and
roles), the batches of moved workers (one message per district, the moved on-shift workers
only), their way to a staff member's socket, and the GCJ-02 conversion in JavaScript checked
against published reference pairs and the Python twin."""

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.asgi import application
from backend.core.events import district_group
from backend.core.geo import wgs84_to_gcj02
from backend.core.queues import DEVICE
from backend.core.tickets import ws_ticket_issue
from console import positions
from dispatch.models import RequestState
from providers.models import WorkerPosition
from tests import factories as f
from tests.conftest import admin_login, api, run_bounded

pytestmark = pytest.mark.django_db

GCJ02_JS = Path(settings.BASE_DIR) / "console" / "static" / "console" / "gcj02.js"
# Published WGS-84 -> GCJ-02 pairs (lng, lat): wandergis/coordtransform's README example, and
# googollee/eviltransform's test cases (Shanghai, Shenzhen, Beijing).
REFERENCE = [
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
]


def snapshot(user) -> dict:
    answer = admin_login(user).get("/console/map/data/")
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_the_map_page_carries_leaflet_and_the_tiles_coordinate_system(operator, settings):
    settings.ANXIN_MAP_TILE_CRS = "gcj02"

    answer = admin_login(operator).get("/console/map/")

    html = answer.content.decode()
    assert answer.status_code == 200
    assert "vendor/leaflet/leaflet.js" in html and "console/gcj02.js" in html
    assert (
        "console/map.js" in html and 'href="/console/map/" data-shortcut="2" aria-current' in html
    )
    config = json.loads(
        html.split('<script id="map-config" type="application/json">')[1][:300].split("</script>")[
            0
        ]
    )
    assert config["crs"] == "gcj02" and config["tiles"] == settings.ANXIN_MAP_TILE_URL


def test_the_snapshot_has_the_districts_on_shift_workers_and_open_requests_only(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    near = make_worker(east_m=100)
    make_worker(east_m=200, shift_state="off")
    elsewhere = f.WorkerFactory()  # another district's provider
    f.place_worker(elsewhere, f.offset(f.HOME, 50))
    with django_capture_on_commit_callbacks(execute=True):
        open_id = (
            api(operator)
            .post("/api/v1/requests/", {"elder": elder.pk, "service_type": "meal"}, format="json")
            .json()["id"]
        )
        closed_id = (
            api(operator)
            .post(
                "/api/v1/requests/", {"elder": elder.pk, "service_type": "cleaning"}, format="json"
            )
            .json()["id"]
        )
        api(operator).post(f"/api/v1/requests/{closed_id}/cancel/", {"reason": "家属取消"})

    data = snapshot(operator)

    assert [w["id"] for w in data["workers"]] == [near.pk]
    assert data["workers"][0]["at"] == [pytest.approx(c, abs=1e-6) for c in f.offset(f.HOME, 100)]
    assert data["workers"][0]["name"] == near.full_name and data["workers"][0]["stale"] is False
    assert [r["id"] for r in data["requests"]] == [open_id]
    request = data["requests"][0]
    assert request["at"] == [pytest.approx(f.HOME[0]), pytest.approx(f.HOME[1])]
    assert request["panel"] == f"/console/requests/{open_id}/"
    assert request["state"] == RequestState.OFFERED
    assert data["bounds"] == [[125.2, 43.8], [125.45, 43.95]]


def test_a_position_older_than_matching_trusts_is_marked_stale(operator, make_worker):
    worker = make_worker(east_m=100)
    old = timezone.now() - timedelta(seconds=settings.ANXIN["LOCATION_MAX_AGE_S"] + 60)
    WorkerPosition.objects.filter(worker=worker).update(recorded_at=old)

    assert [w["stale"] for w in snapshot(operator)["workers"]] == [True]


@pytest.mark.parametrize("role", ["family", "worker", "provider_admin"])
def test_the_map_is_for_district_staff_only(make_worker, role):
    make_worker(east_m=100)
    client = admin_login(f.UserFactory(role=role))

    page, data = client.get("/console/map/"), client.get("/console/map/data/")

    assert page.status_code == data.status_code == 403
    assert b"at" not in data.content or b"workers" not in data.content


def test_without_a_session_the_map_sends_to_the_sign_in():
    answer = Client().get("/console/map/data/")

    assert answer.status_code == 302 and answer["Location"].startswith("/console/sign-in/")


# The batches ----------------------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch):
    """What the batch task hands to the channel layer: (groups, message) per call."""
    calls = []
    monkeypatch.setattr(
        positions, "layer_send", lambda groups, message, **kw: calls.append((groups, message))
    )
    cache.delete(positions.CURSOR_KEY)
    yield calls
    cache.delete(positions.CURSOR_KEY)


def _moved(worker, east_m, *, seconds_ago=0):
    f.place_worker(worker, f.offset(f.HOME, east_m))
    at = timezone.now() - timedelta(seconds=seconds_ago)
    WorkerPosition.objects.filter(worker=worker).update(recorded_at=at)


def test_each_district_gets_one_message_with_its_moved_on_shift_workers_only(district, sent):
    here = f.ProviderFactory(district=district)
    there = f.ProviderFactory()  # its own district
    a, b = f.WorkerFactory(provider=here), f.WorkerFactory(provider=here)
    still = f.WorkerFactory(provider=here)
    off = f.WorkerFactory(provider=here, shift_state="off")
    c = f.WorkerFactory(provider=there)
    for worker in (a, b, off, c):
        _moved(worker, 100)
    _moved(still, 100, seconds_ago=120)  # before the last batch

    result = positions.worker_positions_push()

    by_group = {tuple(groups): message for groups, message in sent}
    assert len(sent) == 2 and result == {"districts": 2, "workers": 3}
    here_message = by_group[(district_group(district.pk),)]
    assert here_message["type"] == "workers.positions"
    assert [w["id"] for w in here_message["data"]["workers"]] == sorted([a.pk, b.pk])
    assert set(here_message["data"]["workers"][0]) == {"id", "at", "recorded_at", "busy"}
    there_message = by_group[(district_group(there.district_id),)]
    assert [w["id"] for w in there_message["data"]["workers"]] == [c.pk]


def test_the_next_batch_sends_only_what_moved_since(district, sent):
    provider = f.ProviderFactory(district=district)
    first, second = f.WorkerFactory(provider=provider), f.WorkerFactory(provider=provider)
    cache.set(positions.CURSOR_KEY, timezone.now() - timedelta(minutes=1))
    _moved(first, 100, seconds_ago=10)

    once = positions.worker_positions_push()
    nothing = positions.worker_positions_push()
    _moved(second, 300)
    later = positions.worker_positions_push()

    assert (once, nothing, later) == (
        {"districts": 1, "workers": 1},
        {"districts": 0, "workers": 0},
        {"districts": 1, "workers": 1},
    )
    assert [[w["id"] for w in message["data"]["workers"]] for _, message in sent] == [
        [first.pk],
        [second.pk],
    ]


def test_the_batch_runs_on_the_device_lane_every_map_push_period():
    entry = settings.CELERY_BEAT_SCHEDULE["map-positions"]

    assert entry["task"] == "console.tasks.map_positions_push"
    assert entry["schedule"] == settings.ANXIN_MAP_PUSH_S
    assert entry["options"] == {
        "queue": settings.ANXIN_QUEUES[DEVICE],
        "expires": settings.ANXIN_MAP_PUSH_S,
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_a_staff_members_socket_receives_the_batch_as_it_is_sent():
    district = f.DistrictFactory()
    operator = f.UserFactory(role="operator", district=district)
    ticket = ws_ticket_issue(user=operator)
    batch = positions.positions_message(
        [{"id": 7, "at": [125.3, 43.9], "recorded_at": "x", "busy": False}]
    )

    async def listen():
        socket = WebsocketCommunicator(
            application,
            f"/ws/?ticket={ticket.token}",
            headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")],
        )
        connected, _ = await socket.connect()
        assert connected
        await socket.receive_json_from()  # hello
        await get_channel_layer().group_send(district_group(district.pk), batch)
        got = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return got

    assert run_bounded(listen()) == {"type": "workers.positions", "data": batch["data"]}


# GCJ-02 in JavaScript ---------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_javascript_conversion_matches_the_reference_pairs_and_python():
    points = [wgs for wgs, _ in REFERENCE] + [(125.3245, 43.8868), (-0.1276, 51.5072)]
    script = (
        f"const g = require({json.dumps(str(GCJ02_JS))});"
        f"console.log(JSON.stringify({json.dumps(points)}.map(p => g.wgs84ToGcj02(p[0], p[1]))));"
    )

    out = json.loads(
        subprocess.run(["node", "-e", script], capture_output=True, check=True, text=True).stdout
    )

    for (wgs, gcj), js in zip(REFERENCE, out, strict=False):
        assert js == [pytest.approx(gcj[0], abs=1e-9), pytest.approx(gcj[1], abs=1e-9)], wgs
    for wgs, js in zip(points, out, strict=True):
        assert js == [pytest.approx(c, abs=1e-12) for c in wgs84_to_gcj02(*wgs)]
    assert out[-1] == [-0.1276, 51.5072]  # outside China: unchanged


def test_the_snapshot_costs_the_same_queries_however_many_points(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            snapshot(operator)
        return len(queries)

    make_worker(east_m=100)
    with django_capture_on_commit_callbacks(execute=True):
        api(operator).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": "meal"}, format="json"
        )
    few = count()
    for east in (200, 300, 400, 500):
        make_worker(east_m=east)
    with django_capture_on_commit_callbacks(execute=True):
        for service in ("cleaning", "bathing", "shopping"):
            api(operator).post(
                "/api/v1/requests/", {"elder": elder.pk, "service_type": service}, format="json"
            )

    assert count() == few
