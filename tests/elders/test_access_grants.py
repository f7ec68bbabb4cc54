from datetime import timedelta

import pytest
from django.utils import timezone

from elders import services
from elders.models import AccessGrant, AccessLog
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


def grant(elder, user, minutes=60, reference="request:1"):
    return services.access_grant_issue(
        elder_id=elder.pk,
        user_id=user.pk,
        purpose="Meal job 261124-000001",
        reference=reference,
        expires_at=timezone.now() + timedelta(minutes=minutes),
    )


def test_a_worker_sees_what_the_job_needs_only_while_the_grant_lasts(registered, make_worker):
    worker = make_worker()
    client = api(worker.user)
    assert client.get(f"/api/v1/elders/{registered.pk}/").status_code == 404

    grant(registered, worker.user)
    body = client.get(f"/api/v1/elders/{registered.pk}/").json()
    services.access_grant_revoke(reference="request:1")

    assert body["full_name"] == registered.full_name and body["address"] == registered.address
    assert "id_number_masked" not in body and "categories" not in body
    assert client.get(f"/api/v1/elders/{registered.pk}/").status_code == 404


def test_an_expired_grant_gives_nothing(registered, make_worker):
    worker = make_worker()
    old = grant(registered, worker.user)
    AccessGrant.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert api(worker.user).get(f"/api/v1/elders/{registered.pk}/").status_code == 404
    assert api(worker.user).get(f"/api/v1/elders/{registered.pk}/health/").status_code == 404


def test_a_workers_health_read_is_logged_with_the_job_that_grants_it(registered, make_worker):
    worker = make_worker()
    grant(registered, worker.user, reference="request:42")

    response = api(worker.user).get(f"/api/v1/elders/{registered.pk}/health/")

    assert response.status_code == 200
    log = AccessLog.objects.get()
    assert log.user == worker.user and log.field == "health"
    assert log.purpose.startswith("request:42: Meal job")


def test_a_provider_admin_sees_only_elders_their_workers_served(
    registered, district, make_worker, user_of
):
    provider = f.ProviderFactory(district=district)
    admin = user_of("provider_admin")
    provider.admins.add(admin)
    other_elder = f.ElderFactory(district=district)
    own_worker = make_worker(provider=provider)
    stranger = make_worker()
    grant(registered, own_worker.user, reference="request:7")
    grant(other_elder, stranger.user, reference="request:8")
    services.access_grant_revoke(reference="request:7")  # held, not held now: still theirs

    listed = api(admin).get("/api/v1/elders/").json()["results"]

    assert [e["id"] for e in listed] == [registered.pk]
    assert set(listed[0]) == {"id", "full_name", "gender", "address"}
    assert api(admin).get(f"/api/v1/elders/{other_elder.pk}/").status_code == 404
    assert api(admin).get(f"/api/v1/elders/{registered.pk}/health/").status_code == 404


def test_accepting_a_job_grants_access_and_checking_out_revokes_it(
    registered, operator, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=50)
    with django_capture_on_commit_callbacks(execute=True):
        sr_id = (
            api(operator)
            .post(
                "/api/v1/requests/", {"elder": registered.pk, "service_type": "meal"}, format="json"
            )
            .json()["id"]
        )
    offer = worker.offers.get()
    client = api(worker.user)

    client.post(f"/api/v1/offers/{offer.pk}/accept/")
    during = client.get(f"/api/v1/elders/{registered.pk}/").status_code
    client.post(
        f"/api/v1/requests/{sr_id}/check-in/",
        {"location": {"type": "Point", "coordinates": list(f.HOME)}},
        format="json",
    )
    client.post(
        f"/api/v1/requests/{sr_id}/check-out/",
        {"location": {"type": "Point", "coordinates": list(f.HOME)}},
        format="json",
    )
    after = client.get(f"/api/v1/elders/{registered.pk}/").status_code

    assert (during, after) == (200, 404)


def test_cancelling_an_assigned_job_revokes_the_grant(
    registered, operator, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=50)
    with django_capture_on_commit_callbacks(execute=True):
        sr_id = (
            api(operator)
            .post(
                "/api/v1/requests/", {"elder": registered.pk, "service_type": "meal"}, format="json"
            )
            .json()["id"]
        )
    api(worker.user).post(f"/api/v1/offers/{worker.offers.get().pk}/accept/")

    api(operator).post(
        f"/api/v1/requests/{sr_id}/cancel/", {"reason": "family came"}, format="json"
    )

    assert api(worker.user).get(f"/api/v1/elders/{registered.pk}/").status_code == 404


def test_after_check_out_the_request_no_longer_shows_the_worker_who_the_elder_is(
    registered, operator, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=50)
    with django_capture_on_commit_callbacks(execute=True):
        sr_id = (
            api(operator)
            .post(
                "/api/v1/requests/", {"elder": registered.pk, "service_type": "meal"}, format="json"
            )
            .json()["id"]
        )
    client = api(worker.user)
    accepted = client.post(f"/api/v1/offers/{worker.offers.get().pk}/accept/").json()
    client.post(
        f"/api/v1/requests/{sr_id}/check-in/",
        {"location": {"type": "Point", "coordinates": list(f.HOME)}},
        format="json",
    )
    client.post(
        f"/api/v1/requests/{sr_id}/check-out/",
        {"location": {"type": "Point", "coordinates": list(f.HOME)}},
        format="json",
    )

    later = client.get(f"/api/v1/requests/{sr_id}/").json()

    assert accepted["elder"]["address"] == registered.address
    assert later["elder"] == {"id": registered.pk}
    assert api(operator).get(f"/api/v1/requests/{sr_id}/").json()["elder"]["full_name"]
