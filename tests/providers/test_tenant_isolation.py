import pytest

from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


def test_a_provider_admin_gets_404_for_another_providers_worker(district, provider_admin):
    mine, theirs = f.ProviderFactory(district=district), f.ProviderFactory(district=district)
    admin = provider_admin(mine)
    own_worker = f.WorkerFactory(provider=mine)
    other_worker = f.WorkerFactory(provider=theirs)
    client = api(admin)

    assert client.get(f"/api/v1/workers/{own_worker.pk}/").status_code == 200
    assert client.get(f"/api/v1/workers/{other_worker.pk}/").status_code == 404
    assert (
        client.patch(
            f"/api/v1/workers/{other_worker.pk}/", {"capacity": 3}, format="json"
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/workers/{other_worker.pk}/certificates/").status_code == 404
    assert client.get(f"/api/v1/providers/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/providers/{theirs.pk}/workers/").status_code == 404
    assert [p["id"] for p in client.get("/api/v1/providers/").json()["results"]] == [mine.pk]


def test_a_provider_admin_cannot_change_their_own_status(district, provider_admin):
    provider = f.ProviderFactory(district=district, status="pending")
    admin = provider_admin(provider)

    response = api(admin).post(
        f"/api/v1/providers/{provider.pk}/status/",
        {"event": "approve", "reason": "we are great"},
        format="json",
    )

    assert response.status_code == 403


def test_a_provider_admin_registers_workers_and_certificates(district, provider_admin):
    provider = f.ProviderFactory(district=district)
    admin = provider_admin(provider)
    client = api(admin)

    created = client.post(
        f"/api/v1/providers/{provider.pk}/workers/",
        {
            "username": "zhang.wei",
            "password": "a-long-password",
            "full_name": "张伟",
            "phone": "137 0013 7000",
            "skills": ["meal", "bathing"],
            "languages": ["mandarin"],
        },
        format="json",
    )
    worker_id = created.json()["id"]
    cert = client.post(
        f"/api/v1/workers/{worker_id}/certificates/",
        {"kind": "health", "number": "JK-2026-001", "expires_on": "2027-06-30"},
        format="json",
    )
    taken = client.post(
        f"/api/v1/providers/{provider.pk}/workers/",
        {
            "username": "zhang.wei",
            "password": "a-long-password",
            "full_name": "x",
            "phone": "13700137001",
        },
        format="json",
    )

    assert created.status_code == 201 and created.json()["phone"] == "+8613700137000"
    assert cert.status_code == 201
    assert taken.status_code == 400 and "username" in taken.json()["error"]["fields"]


def test_other_districts_staff_see_none_of_it(district):
    provider = f.ProviderFactory(district=district)
    outsider = f.UserFactory(role="district_admin")  # another district

    assert api(outsider).get(f"/api/v1/providers/{provider.pk}/").status_code == 404
    assert api(outsider).get("/api/v1/providers/").json()["count"] == 0
