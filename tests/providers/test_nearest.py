"""The candidate search itself: nearest first, inside the radius, every filter, and the KNN
window widening when the nearest few fail the checks made after the walk."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from providers.models import Certificate, WorkerPosition
from providers.selectors import KNN_WINDOWS, workers_nearest
from tests import factories as f

pytestmark = pytest.mark.django_db

HOME = Point(*f.HOME, srid=4326)


def nearest(provider, **kwargs):
    options = {"skill": "meal", "radius_m": 5000, "limit": 3, "provider_ids": [provider.pk]}
    return workers_nearest(point=HOME, **(options | kwargs))


@pytest.fixture
def provider(district):
    return f.ProviderFactory(district=district)


def test_nearest_first_with_the_user_to_notify_and_the_distance(provider, make_worker):
    far = make_worker(east_m=900, provider=provider)
    near = make_worker(east_m=100, provider=provider)
    middle = make_worker(north_m=400, provider=provider)

    found = nearest(provider)

    assert [c.worker_id for c in found] == [near.pk, middle.pk, far.pk]
    assert [c.user_id for c in found] == [near.user_id, middle.user_id, far.user_id]
    assert {c.provider_id for c in found} == {provider.pk}
    assert found[0].distance_m == pytest.approx(100, abs=2)


def test_the_radius_is_metres_on_the_ground(provider, make_worker):
    inside = make_worker(east_m=4900, provider=provider)
    make_worker(east_m=5100, provider=provider)

    assert [c.worker_id for c in nearest(provider)] == [inside.pk]


def test_every_required_certificate_must_be_valid_and_the_skill_held(provider, make_worker):
    both = make_worker(east_m=300, provider=provider, skills=["bathing"])
    one_lapsed = make_worker(east_m=100, provider=provider, skills=["bathing"])
    make_worker(east_m=50, provider=provider, skills=["meal"])
    Certificate.objects.filter(worker=one_lapsed, kind="care_worker").update(
        expires_on=timezone.localdate() - timedelta(days=1)
    )

    found = nearest(provider, skill="bathing", required_certificates=["care_worker", "health"])

    assert [c.worker_id for c in found] == [both.pk]
    assert len(nearest(provider, skill="bathing")) == 2


def test_excluded_workers_other_providers_and_nobody_at_all(district, provider, make_worker):
    asked = make_worker(east_m=100, provider=provider)
    other = make_worker(east_m=50, provider=f.ProviderFactory(district=district))
    next_one = make_worker(east_m=200, provider=provider)

    assert [c.worker_id for c in nearest(provider, exclude_worker_ids=frozenset({asked.pk}))] == [
        next_one.pk
    ]
    assert other.pk not in {c.worker_id for c in nearest(provider)}
    assert nearest(provider, skill="bathing") == []
    assert nearest(provider, provider_ids=[]) == []


def test_the_window_widens_when_the_nearest_fail_the_later_checks(provider, make_worker):
    """More stale positions than the first window holds lie nearer than the one fresh worker:
    the search must look past them rather than answer nobody."""
    stale = [make_worker(east_m=10 + i, provider=provider) for i in range(KNN_WINDOWS[0] + 5)]
    WorkerPosition.objects.filter(worker__in=stale).update(
        recorded_at=timezone.now() - timedelta(hours=1)
    )
    fresh = make_worker(east_m=3000, provider=provider)

    assert [c.worker_id for c in nearest(provider)] == [fresh.pk]
