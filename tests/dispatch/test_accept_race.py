"""Twenty accepts racing for one emergency over HTTP: each thread its own connection to a live
server (and so its own database connection), released together by a barrier, against
committed data."""

import threading

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from dispatch import services
from dispatch.models import JobOffer, OfferState, RequestState, ServiceRequest, ServiceType, Visit
from tests import factories as f

RACERS = 20


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_twenty_racing_accepts_one_200_nineteen_409_one_visit(live_server, catalogue):
    ServiceType.objects.filter(code="emergency").update(offer_fanout=RACERS)
    district = f.DistrictFactory()
    elder = f.ElderFactory(district=district)
    provider = f.ProviderFactory(district=district)
    workers = []
    for i in range(RACERS):
        worker = f.WorkerFactory(provider=provider)
        f.place_worker(worker, f.offset(f.HOME, east_m=50 * (i + 1)))
        workers.append(worker)
    sr = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="emergency"),
        channel="operator",
        caller=None,
    )
    offers = {o.worker_id: o.pk for o in JobOffer.objects.filter(request=sr)}
    assert len(offers) == RACERS
    tokens = {w.pk: str(AccessToken.for_user(w.user)) for w in workers}

    barrier = threading.Barrier(RACERS)
    results: dict[int, object] = {}

    def accept(worker):
        session = requests.Session()
        url = f"{live_server.url}/api/v1/offers/{offers[worker.pk]}/accept/"
        headers = {"Authorization": f"Bearer {tokens[worker.pk]}"}
        barrier.wait(30)
        try:
            response = session.post(url, headers=headers, timeout=60)
            results[worker.pk] = (response.status_code, response.json())
        except Exception as exc:  # a failure to report, not to lose
            results[worker.pk] = (type(exc).__name__, None)

    threads = [threading.Thread(target=accept, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)

    statuses = sorted(str(code) for code, _ in results.values())
    assert statuses == ["200"] + ["409"] * (RACERS - 1), results
    [winner] = [pk for pk, (code, _) in results.items() if code == 200]
    losers_say = {body["error"]["current_state"] for code, body in results.values() if code == 409}
    assert losers_say <= {"withdrawn", "offered", "assigned"}
    assert JobOffer.objects.filter(request=sr, state=OfferState.ACCEPTED).count() == 1
    assert ServiceRequest.objects.get(pk=sr.pk).state == RequestState.ASSIGNED

    door = {"location": {"type": "Point", "coordinates": list(f.HOME)}}
    checked_in = {
        w.pk: requests.post(
            f"{live_server.url}/api/v1/requests/{sr.pk}/check-in/",
            json=door,
            headers={"Authorization": f"Bearer {tokens[w.pk]}"},
            timeout=30,
        ).status_code
        for w in workers
    }
    assert checked_in[winner] == 201
    assert sorted(checked_in.values()) == [201] + [404] * (RACERS - 1)
    assert Visit.objects.filter(request=sr).count() == 1
