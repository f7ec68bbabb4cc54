from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from backend.asgi import application
from backend.core.geo import wgs84_to_gcj02
from backend.core.tickets import ws_ticket_issue
from providers.models import PositionTrace, WorkerPosition
from tests import factories as f
from tests.conftest import api, run_bounded


def post_location(worker, coords, crs="wgs84"):
    return api(worker.user).post(
        "/api/v1/workers/me/location/",
        {"location": {"type": "Point", "coordinates": list(coords)}, "crs": crs},
        format="json",
    )


@pytest.mark.django_db
def test_updates_are_always_answered_but_stored_at_most_once_per_interval(make_worker):
    worker = make_worker()
    WorkerPosition.objects.filter(worker=worker).delete()

    first = post_location(worker, f.offset(f.HOME, east_m=10).coords)
    second = post_location(worker, f.offset(f.HOME, east_m=20).coords)
    WorkerPosition.objects.filter(worker=worker).update(
        recorded_at=timezone.now() - timedelta(seconds=11)
    )
    third = post_location(worker, f.offset(f.HOME, east_m=30).coords)

    assert [r.status_code for r in (first, second, third)] == [202, 202, 202]
    assert [r.json()["stored"] for r in (first, second, third)] == [True, False, True]
    stored = WorkerPosition.objects.get(worker=worker).point
    assert stored.x == pytest.approx(f.offset(f.HOME, east_m=30).x)


@pytest.mark.django_db
def test_a_gcj02_position_is_stored_as_wgs84(make_worker):
    worker = make_worker()
    WorkerPosition.objects.filter(worker=worker).delete()

    post_location(worker, wgs84_to_gcj02(*f.HOME), crs="gcj02")

    stored = WorkerPosition.objects.get(worker=worker).point
    assert (stored.x, stored.y) == pytest.approx(f.HOME, abs=1e-7)


@pytest.mark.django_db
def test_only_positions_on_a_job_are_kept_as_a_trace(make_worker):
    worker = make_worker()
    WorkerPosition.objects.filter(worker=worker).delete()
    post_location(worker, f.HOME)
    worker.active_jobs = 1
    worker.save()
    WorkerPosition.objects.filter(worker=worker).update(
        recorded_at=timezone.now() - timedelta(minutes=1)
    )

    post_location(worker, f.HOME)

    assert PositionTrace.objects.filter(worker=worker).count() == 1


@pytest.mark.django_db
def test_bad_positions_are_400_with_the_field(make_worker):
    worker = make_worker()

    response = api(worker.user).post(
        "/api/v1/workers/me/location/",
        {"location": {"type": "Point", "coordinates": [200, 1]}},
        format="json",
    )

    assert response.status_code == 400
    assert "location" in response.json()["error"]["fields"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_can_send_positions_over_the_websocket(catalogue):
    worker = f.WorkerFactory()
    ticket = ws_ticket_issue(user=worker.user)

    async def talk():
        socket = WebsocketCommunicator(
            application,
            f"/ws/?ticket={ticket.token}",
            headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")],
        )
        connected, _ = await socket.connect()
        assert connected
        assert (await socket.receive_json_from())["type"] == "hello"
        await socket.send_json_to(
            {
                "type": "location",
                "data": {"location": {"type": "Point", "coordinates": list(f.HOME)}},
            }
        )
        good = await socket.receive_json_from(timeout=5)
        await socket.send_json_to({"type": "location", "data": {"location": "here"}})
        bad = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return good, bad

    good, bad = run_bounded(talk())

    assert good == {"type": "location.ack", "data": {"stored": True}}
    assert bad["type"] == "error" and "location" in bad["data"]["fields"]
    assert WorkerPosition.objects.filter(worker=worker).exists()


@pytest.mark.django_db(transaction=True)
def test_the_socket_decides_the_trace_from_the_workers_state_at_each_message(catalogue):
    """A job taken after connecting starts the trace; a job ended stops it (privacy limit)."""
    worker = f.WorkerFactory()
    ticket = ws_ticket_issue(user=worker.user)
    here = {"type": "location", "data": {"location": {"type": "Point", "coordinates": [*f.HOME]}}}

    def allow_next_store():
        WorkerPosition.objects.filter(worker=worker).update(
            recorded_at=timezone.now() - timedelta(minutes=1)
        )

    def set_jobs(n):
        type(worker).objects.filter(pk=worker.pk).update(active_jobs=n)
        allow_next_store()

    async def talk():
        socket = WebsocketCommunicator(application, f"/ws/?ticket={ticket.token}")
        assert (await socket.connect())[0]
        await socket.receive_json_from()
        acks = []
        for jobs in (0, 1, 0):
            await database_sync_to_async(set_jobs)(jobs)
            await socket.send_json_to(here)
            acks.append((await socket.receive_json_from(timeout=5))["data"]["stored"])
            traces.append(await database_sync_to_async(trace_count)())
        await socket.disconnect()
        return acks

    def trace_count():
        return PositionTrace.objects.filter(worker=worker).count()

    traces: list[int] = []
    acks = run_bounded(talk())

    assert acks == [True, True, True]
    assert traces == [0, 1, 1]
