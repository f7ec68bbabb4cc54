"""What each role sees of the elder on a work order, in every state.

The assigned worker sees what finding the door and calling ahead need (name, gender, phone,
address, home) and the order's notes, exactly while the job's access grant is live. Their
provider's admin, while that grant is live, sees only name, gender and address, and no notes
(docs/dispatch.md: they staff the job, they do not go to the door). Family and district staff
always see all of it; anyone else gets 404."""

import pytest

from dispatch.models import JobOffer, RequestState, ServiceType
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db

NOTES = "钥匙在门垫下"
ID_ONLY = ({"id"}, "")
BRIEF = ({"id", "full_name", "gender", "address"}, "")
VISIT = ({"id", "full_name", "gender", "phone", "address", "location"}, NOTES)

STAFF = ("operator", "supervisor", "district_admin")
OUTSIDERS = ("foreign_operator", "other_family", "other_worker", "other_provider")
STATES = ["offered", "assigned", "en_route", "on_site", "completed", "closed", "cancelled"]
LIVE = {"assigned", "en_route", "on_site"}


def expected(role: str, state: str):
    """The table, written by hand from docs/dispatch.md (None: 404)."""
    if role in STAFF or role == "family":
        return VISIT
    if role in OUTSIDERS or state == "offered":
        return None
    if state not in LIVE:
        return ID_ONLY
    return VISIT if role == "worker" else BRIEF


@pytest.fixture
def cast(operator, family, elder, make_worker, district):
    worker = make_worker(east_m=30)
    admin = f.UserFactory(role="provider_admin")
    worker.provider.admins.add(admin)
    other_provider = f.ProviderFactory(district=district)
    other_admin = f.UserFactory(role="provider_admin")
    other_provider.admins.add(other_admin)
    other_family = f.UserFactory(role="family")
    f.ContactFactory(elder=f.ElderFactory(district=district), user=other_family)
    return {
        "operator": operator,
        "supervisor": f.UserFactory(role="supervisor", district=district),
        "district_admin": f.UserFactory(role="district_admin", district=district),
        "family": family,
        "worker": worker.user,
        "provider": admin,
        "foreign_operator": f.UserFactory(role="operator"),  # another district
        "other_family": other_family,
        "other_worker": f.WorkerFactory(provider=other_provider).user,  # no position: no offers
        "other_provider": other_admin,
    }


def seen(user, sr_id):
    """What the order shows this user of the elder and of the notes (None: 404); the list's
    row must show the same as the order's own page."""
    client = api(user)
    response = client.get(f"/api/v1/requests/{sr_id}/")
    rows = [r for r in client.get("/api/v1/requests/").json()["results"] if r["id"] == sr_id]
    if response.status_code == 404:
        assert rows == []
        return None
    body = response.json()
    assert rows == [body]
    return set(body["elder"]), body["notes"]


def walk(cast, elder, capture, *, to):
    """Take a fresh meal order for the elder as far as `to`, through the API."""
    op, worker = api(cast["operator"]), api(cast["worker"])
    with capture(execute=True):
        sr = op.post(
            "/api/v1/requests/",
            {"elder": elder.pk, "service_type": "meal", "notes": NOTES},
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
        "completed": lambda: worker.post(
            f"/api/v1/requests/{sr}/check-out/",
            {"location": {"type": "Point", "coordinates": list(f.offset(f.HOME, 10).coords)}},
            format="json",
        ),
        "closed": lambda: op.post(f"/api/v1/requests/{sr}/close/", {}, format="json"),
    }
    path = ["assigned", "en_route"] if to == "cancelled" else STATES[1 : STATES.index(to) + 1]
    for state in path:
        with capture(execute=True):
            assert steps[state]().status_code in (200, 201), state
    if to == "cancelled":
        with capture(execute=True):
            assert op.post(f"/api/v1/requests/{sr}/cancel/", {"reason": "家属取消"}).status_code
    assert api(cast["operator"]).get(f"/api/v1/requests/{sr}/").json()["state"] == to
    return sr


@pytest.mark.parametrize("state", STATES)
def test_each_role_sees_the_elder_on_the_order_exactly_as_the_table_says(
    state, cast, elder, django_capture_on_commit_callbacks
):
    sr = walk(cast, elder, django_capture_on_commit_callbacks, to=state)

    answers = {role: seen(user, sr) for role, user in cast.items()}

    assert answers == {role: expected(role, state) for role in cast}


def test_a_provider_that_took_the_whole_job_sees_the_address_to_staff_it_but_not_the_home(
    district, elder, operator, make_worker, django_capture_on_commit_callbacks
):
    """派单给服务商: the organisation needs to know where to choose who goes; the worker it
    names gets the phone, the home and the notes."""
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
                "/api/v1/requests/",
                {"elder": elder.pk, "service_type": "bathing", "notes": NOTES},
                format="json",
            )
            .json()["id"]
        )
    offer = JobOffer.objects.get(request_id=sr)
    with django_capture_on_commit_callbacks(execute=True):
        assert api(admin).post(f"/api/v1/offers/{offer.pk}/accept/").status_code == 200

    assert seen(admin, sr) == BRIEF
    assert api(admin).get(f"/api/v1/requests/{sr}/").json()["state"] == RequestState.ASSIGNED

    with django_capture_on_commit_callbacks(execute=True):
        named = api(admin).post(
            f"/api/v1/requests/{sr}/assign-worker/", {"worker": worker.pk}, format="json"
        )

    assert named.status_code == 200
    assert set(named.json()["elder"]) == BRIEF[0] and named.json()["notes"] == ""
    assert seen(worker.user, sr) == VISIT
    assert seen(admin, sr) == BRIEF
