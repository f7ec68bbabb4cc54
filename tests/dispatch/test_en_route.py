"""The distance on the way: pushed to the family and the worker as positions are stored, never
written as events; read from the last-known position when a page renders."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from backend.asgi import application
from backend.core.models import Event
from backend.core.tickets import ws_ticket_issue
from dispatch.en_route import en_route_distances
from dispatch.models import RequestState, ServiceRequest
from providers.models import WorkerPosition
from tests import factories as f
from tests.conftest import api, run_bounded


def on_the_way(operator, elder, worker, capture):
    with capture(execute=True):
        created = api(operator).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": "meal"}, format="json"
        )
    assert created.status_code == 201, created.json()
    sr = ServiceRequest.objects.get(pk=created.json()["id"])
    offer = sr.offers.get(worker=worker)
    with capture(execute=True):
        assert api(worker.user).post(f"/api/v1/offers/{offer.pk}/accept/").status_code == 200
        assert api(worker.user).post(f"/api/v1/requests/{sr.pk}/set-out/").status_code == 200
    sr.refresh_from_db()
    assert sr.state == RequestState.EN_ROUTE
    return sr


def allow_next_store(worker):
    WorkerPosition.objects.filter(worker=worker).update(
        recorded_at=timezone.now() - timedelta(minutes=1)
    )


def location(east_m):
    where = f.offset(f.HOME, east_m=east_m)
    return {"type": "location", "data": {"location": {"type": "Point", "coordinates": [*where]}}}


@pytest.mark.django_db(transaction=True)
def test_the_family_hears_the_distance_shrink_and_no_event_is_written(
    catalogue, operator, elder, family, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=900)
    sr = on_the_way(operator, elder, worker, django_capture_on_commit_callbacks)
    stranger = f.UserFactory(role="family")
    events_before = Event.objects.count()
    tickets = {
        who: ws_ticket_issue(user=user).token
        for who, user in (("family", family), ("worker", worker.user), ("stranger", stranger))
    }

    async def talk():
        sockets = {}
        for who, token in tickets.items():
            socket = WebsocketCommunicator(application, f"/ws/?ticket={token}")
            assert (await socket.connect())[0]
            assert (await socket.receive_json_from())["type"] == "hello"
            sockets[who] = socket
        heard = []
        for east_m in (600, 150):
            await database_sync_to_async(allow_next_store)(worker)
            await sockets["worker"].send_json_to(location(east_m))
            worker_heard = [await sockets["worker"].receive_json_from(timeout=5) for _ in "ab"]
            family_heard = await sockets["family"].receive_json_from(timeout=5)
            heard.append((worker_heard, family_heard))
        stranger_heard = await sockets["stranger"].receive_nothing(timeout=0.5)
        for socket in sockets.values():
            await socket.disconnect()
        return heard, stranger_heard

    heard, stranger_heard_nothing = run_bounded(talk())

    distances = [family["data"]["distance_m"] for _, family in heard]
    assert all(family["type"] == "request.distance" for _, family in heard)
    assert {family["data"]["request"] for _, family in heard} == {sr.pk}
    assert 580 < distances[0] < 620 and 130 < distances[1] < 170
    for worker_heard, family in heard:  # the worker's app hears its ack and the same distance
        assert {m["type"] for m in worker_heard} == {"location.ack", "request.distance"}
    assert stranger_heard_nothing
    assert Event.objects.count() == events_before  # pushed, not written


@pytest.mark.django_db
def test_a_page_reads_the_distance_from_the_last_known_position(
    catalogue, operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=900)
    sr = on_the_way(operator, elder, worker, django_capture_on_commit_callbacks)
    f.place_worker(worker, f.offset(f.HOME, east_m=420))

    found = en_route_distances([sr.pk, 10**9])

    assert list(found) == [sr.pk]
    assert found[sr.pk].distance_m == pytest.approx(420, abs=5)


@pytest.mark.django_db
def test_no_distance_before_setting_out_or_after_arriving(
    catalogue, operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=900)
    sr = on_the_way(operator, elder, worker, django_capture_on_commit_callbacks)
    ServiceRequest.objects.filter(pk=sr.pk).update(state=RequestState.ON_SITE)

    assert en_route_distances([sr.pk]) == {}
