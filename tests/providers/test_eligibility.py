"""Who may be offered work: the provider's area, status and services, the worker's
certificates and the freshness of their position."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils import timezone

from dispatch.models import JobOffer
from providers.models import Certificate, WorkerPosition
from providers.services import provider_status_change
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


def request_for(operator, elder, capture, service="meal"):
    with capture(execute=True):
        response = api(operator).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": service}, format="json"
        )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def offered_workers(request_id):
    return set(JobOffer.objects.filter(request_id=request_id).values_list("worker_id", flat=True))


def box_around(lng, lat, half=0.01):
    return MultiPolygon(
        Polygon.from_bbox((lng - half, lat - half, lng + half, lat + half)), srid=4326
    )


def test_a_provider_whose_area_does_not_cover_the_home_gets_no_offer(
    operator, elder, district, make_worker, django_capture_on_commit_callbacks
):
    elsewhere = f.ProviderFactory(
        district=district, service_area=box_around(f.HOME[0] + 0.1, f.HOME[1])
    )
    here = f.ProviderFactory(district=district, service_area=box_around(*f.HOME))
    near_but_outside = make_worker(east_m=50, provider=elsewhere)
    farther_inside = make_worker(east_m=400, provider=here)

    sr = request_for(operator, elder, django_capture_on_commit_callbacks)

    assert offered_workers(sr) == {farther_inside.pk}
    assert near_but_outside.pk not in offered_workers(sr)


def test_without_an_area_the_radius_around_the_base_decides(
    operator, elder, district, make_worker, django_capture_on_commit_callbacks
):
    far_base = f.ProviderFactory(
        district=district, service_radius_m=1000, base_location=f.offset(f.HOME, east_m=3000)
    )
    make_worker(east_m=50, provider=far_base)

    sr = request_for(operator, elder, django_capture_on_commit_callbacks)

    assert offered_workers(sr) == set()


def test_an_expired_certificate_excludes_the_worker_from_that_service_only(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    lapsed = make_worker(east_m=50)
    valid = make_worker(east_m=500)
    Certificate.objects.filter(worker=lapsed, kind="health").update(
        expires_on=timezone.localdate() - timedelta(days=1)
    )

    meal = request_for(operator, elder, django_capture_on_commit_callbacks, "meal")
    cleaning = request_for(operator, elder, django_capture_on_commit_callbacks, "cleaning")

    assert offered_workers(meal) == {valid.pk}  # meals need a health certificate
    assert offered_workers(cleaning) == {lapsed.pk}  # cleaning needs none


def test_a_stale_position_excludes_the_worker(
    operator, elder, make_worker, django_capture_on_commit_callbacks, settings
):
    stale = make_worker(east_m=50)
    fresh = make_worker(east_m=900)
    WorkerPosition.objects.filter(worker=stale).update(
        recorded_at=timezone.now() - timedelta(seconds=settings.ANXIN["LOCATION_MAX_AGE_S"] + 1)
    )

    sr = request_for(operator, elder, django_capture_on_commit_callbacks)

    assert offered_workers(sr) == {fresh.pk}


@pytest.mark.parametrize("event", ["blacklist", "suspend"])
def test_a_blacklisted_or_suspended_providers_workers_get_no_offers(
    event, operator, elder, district, make_worker, django_capture_on_commit_callbacks
):
    sanctioned = f.ProviderFactory(district=district)
    make_worker(east_m=50, provider=sanctioned)
    make_worker(east_m=60, provider=sanctioned)
    provider_status_change(
        provider_id=sanctioned.pk, event=event, actor=None, reason="upheld complaints"
    )

    sr = request_for(operator, elder, django_capture_on_commit_callbacks)

    assert offered_workers(sr) == set()


def test_a_provider_that_does_not_offer_the_service_gets_no_offer(
    operator, elder, district, make_worker, django_capture_on_commit_callbacks
):
    cleaners_only = f.ProviderFactory(district=district, services=["cleaning"])
    make_worker(east_m=50, provider=cleaners_only)

    meal = request_for(operator, elder, django_capture_on_commit_callbacks, "meal")
    cleaning = request_for(operator, elder, django_capture_on_commit_callbacks, "cleaning")

    assert offered_workers(meal) == set()
    assert len(offered_workers(cleaning)) == 1
