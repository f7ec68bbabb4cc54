"""Accepts racing for one emergency, each thread on its own database connection, released
together by a barrier, against committed data."""

import threading

import pytest
from django.db import connection

from dispatch import services
from dispatch.models import JobOffer, OfferState, RequestState, ServiceRequest, ServiceType
from tests import factories as f
from tests.conftest import api

RACERS = 3


@pytest.mark.django_db(transaction=True)
def test_racing_accepts_one_wins_the_others_get_409(catalogue, settings):
    settings.ANXIN = {**settings.ANXIN, "EMERGENCY_FANOUT": RACERS}
    district = f.DistrictFactory()
    elder = f.ElderFactory(district=district)
    workers = []
    for i in range(RACERS):
        worker = f.WorkerFactory(provider=f.ProviderFactory(district=district))
        f.place_worker(worker, f.offset(f.HOME, east_m=100 * (i + 1)))
        workers.append(worker)
    sr = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="emergency"),
        channel="operator",
        caller=None,
    )
    offers = {o.worker_id: o.pk for o in JobOffer.objects.filter(request=sr)}
    assert len(offers) == RACERS

    barrier = threading.Barrier(RACERS)
    statuses = []

    def accept(worker):
        client = api(worker.user)
        barrier.wait(10)
        try:
            response = client.post(f"/api/v1/offers/{offers[worker.pk]}/accept/")
            statuses.append(response.status_code)
        except Exception as exc:  # an unhandled error is a failure to report, not to lose
            statuses.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert sorted(statuses) == [200] + [409] * (RACERS - 1)
    assert JobOffer.objects.filter(request=sr, state=OfferState.ACCEPTED).count() == 1
    assert ServiceRequest.objects.get(pk=sr.pk).state == RequestState.ASSIGNED
