"""What each role sees of the elder on a work order, in every state: a worker and their
provider's admin see the name, phone, address and notes exactly while the job's access grant
is live; family and district staff always; nobody else sees the order at all."""

import pytest

from dispatch.models import JobOffer, RequestState, ServiceType
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db

HIDDEN = {"id"}
SHOWN = {"id", "full_name", "phone", "address", "location"}


@pytest.fixture
def cast(operator, family, elder, make_worker, district):
    worker = make_worker(east_m=30)
    admin = f.UserFactory(role="provider_admin")
    worker.provider.admins.add(admin)
    return {"operator": operator, "family": family, "worker": worker.user, "provider": admin}


def seen(user, sr_id):
    """What the order shows this user of the elder and of the notes (None: 404)."""
    response = api(user).get(f"/api/v1/requests/{sr_id}/")
    if response.status_code == 404:
        return None
    body = response.json()
    return set(body["elder"]), body["notes"]


def walk(cast, elder, capture, *, to):
    """Take a fresh meal order for the elder as far as `to`, through the API."""
    op, worker = api(cast["operator"]), api(cast["worker"])
    with capture(execute=True):
        sr = op.post(
            "/api/v1/requests/",
            {"elder": elder.pk, "service_type": "meal", "notes": "钥匙在门垫下"},
            format="json",
        ).json()["id"]
    steps = {
        "assigned": lambda: worker.post(
            f"/api/v1/offers/{JobOffer.objects.get(request_id=sr).pk}/accept/"
        ),
        "en_route": lambda: worker.post(f"/api/v1/requests/{sr}/set-out/"),
        "on_site": lambda: worker.post(
            f"/api/v1/requests/{sr}/check-in/",
            {"location": {"type": "Point", "coordinates": list(f.offset(f.HOME, 10).coords)}},
            format="json",
        ),
        "completed": lambda: worker.post(f"/api/v1/requests/{sr}/check-out/"),
        "closed": lambda: op.post(f"/api/v1/requests/{sr}/close/", {}, format="json"),
    }
    for state, step in steps.items():
        if state == to:
            break
        with capture(execute=True):
            assert step().status_code in (200, 201), state
    with capture(execute=True):
        assert steps[to]().status_code in (200, 201), to
    return sr


@pytest.mark.parametrize("state", ["assigned", "en_route", "on_site", "completed", "closed"])
def test_each_role_sees_the_elder_on_the_order_as_the_grant_allows(
    state, cast, elder, django_capture_on_commit_callbacks
):
    sr = walk(cast, elder, django_capture_on_commit_callbacks, to=state)
    live = state in ("assigned", "en_route", "on_site")

    for role in ("operator", "family"):
        assert seen(cast[role], sr) == (SHOWN, "钥匙在门垫下"), role
    for role in ("worker", "provider"):
        expected = (SHOWN, "钥匙在门垫下") if live else (HIDDEN, "")
        assert seen(cast[role], sr) == expected, (role, state)


def test_an_offered_order_is_not_the_workers_yet(cast, elder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sr = (
            api(cast["operator"])
            .post("/api/v1/requests/", {"elder": elder.pk, "service_type": "meal"}, format="json")
            .json()["id"]
        )

    assert seen(cast["worker"], sr) is None
    assert seen(cast["provider"], sr) is None
    assert seen(cast["family"], sr)[0] == SHOWN


def test_a_cancelled_order_hides_the_elder_from_the_worker(
    cast, elder, django_capture_on_commit_callbacks
):
    sr = walk(cast, elder, django_capture_on_commit_callbacks, to="en_route")
    api(cast["operator"]).post(f"/api/v1/requests/{sr}/cancel/", {"reason": "家属取消"})

    assert seen(cast["worker"], sr) == (HIDDEN, "")
    assert seen(cast["provider"], sr) == (HIDDEN, "")


def test_a_provider_that_took_the_whole_job_sees_the_home_to_staff_it(
    district, elder, operator, make_worker, django_capture_on_commit_callbacks
):
    """派单给服务商: the organisation needs the address to choose who goes."""
    ServiceType.objects.filter(code="bathing").update(dispatch_mode="provider")
    worker = make_worker(east_m=30, skills=["bathing"])
    admin = f.UserFactory(role="provider_admin")
    worker.provider.admins.add(admin)
    worker.provider.base_location = f.offset(f.HOME, 100)
    worker.provider.save()
    with django_capture_on_commit_callbacks(execute=True):
        sr = (
            api(operator)
            .post(
                "/api/v1/requests/", {"elder": elder.pk, "service_type": "bathing"}, format="json"
            )
            .json()["id"]
        )
    offer = JobOffer.objects.get(request_id=sr)
    with django_capture_on_commit_callbacks(execute=True):
        assert api(admin).post(f"/api/v1/offers/{offer.pk}/accept/").status_code == 200

    assert seen(admin, sr)[0] == SHOWN
    assert api(admin).get(f"/api/v1/requests/{sr}/").json()["state"] == RequestState.ASSIGNED
