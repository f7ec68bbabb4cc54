"""Password guessing: five wrong passwords lock an account from the address they came from, for
a cool-off; its owner at another address still signs in; a supervisor of the district unlocks
it, and the unlock is audited."""

import pytest
from django.test import Client, override_settings

from backend.core.models import Event
from tests import factories as f
from tests.conftest import api

from .conftest import ATTACKER, OWNER, sign_in

pytestmark = pytest.mark.django_db
LIMIT = 5  # wrong passwords in a row (AXES_FAILURE_LIMIT)
COOL_OFF_S = 15 * 60


def guess(username: str, times: int, address: str = ATTACKER, **headers) -> list[int]:
    return [sign_in(username, f"guess-{n}", address, **headers).status_code for n in range(times)]


def test_forty_wrong_passwords_lock_the_account_from_that_address(worker):
    answers = guess(worker.user.username, 40)
    right = sign_in(worker.user.username, "pw", ATTACKER)

    assert answers[: LIMIT - 1] == [401] * (LIMIT - 1)
    assert set(answers[LIMIT - 1 :]) == {429}
    assert right.status_code == 429
    assert right["Retry-After"] == str(COOL_OFF_S)
    assert right.json()["error"]["code"] == "locked_out"
    assert "access" not in right.json()


def test_an_attacker_elsewhere_does_not_lock_the_owner_out(worker):
    guess(worker.user.username, 10)

    assert sign_in(worker.user.username, "pw", ATTACKER).status_code == 429
    assert sign_in(worker.user.username, "pw", OWNER).status_code == 200


def test_a_forged_forwarded_for_header_does_not_reset_the_count(worker):
    answers = [
        sign_in(
            worker.user.username, f"guess-{n}", ATTACKER, HTTP_X_FORWARDED_FOR=f"10.9.0.{n}"
        ).status_code
        for n in range(LIMIT + 2)
    ]

    assert answers[-1] == 429
    assert (
        sign_in(worker.user.username, "pw", OWNER, HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 200
    )


@override_settings(ANXIN_TRUSTED_PROXIES=1)
def test_behind_a_trusted_proxy_the_client_is_the_address_the_proxy_saw(worker):
    proxy = "10.0.0.1"
    for n in range(LIMIT):
        # the client wrote a forged entry first; the proxy appended the address it saw
        sign_in(
            worker.user.username, f"guess-{n}", proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, {ATTACKER}"
        )

    assert (
        sign_in(worker.user.username, "pw", proxy, HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 429
    )
    assert sign_in(worker.user.username, "pw", proxy, HTTP_X_FORWARDED_FOR=OWNER).status_code == 200


def test_the_session_login_locks_out_too(worker):
    browser = Client(REMOTE_ADDR=ATTACKER)
    for n in range(LIMIT):
        browser.post("/api-auth/login/", {"username": worker.user.username, "password": f"g{n}"})

    answer = browser.post("/api-auth/login/", {"username": worker.user.username, "password": "pw"})

    assert answer.status_code == 429
    assert answer["Retry-After"] == str(COOL_OFF_S)
    assert "_auth_user_id" not in browser.session


def test_the_admin_login_locks_out_too(supervisor):
    browser = Client(REMOTE_ADDR=ATTACKER)
    for n in range(LIMIT):
        browser.post("/admin/login/", {"username": supervisor.username, "password": f"g{n}"})

    answer = browser.post("/admin/login/", {"username": supervisor.username, "password": "pw"})

    assert answer.status_code == 429
    assert "_auth_user_id" not in browser.session


def test_a_supervisor_of_the_district_unlocks_the_account_audited(worker, supervisor):
    guess(worker.user.username, LIMIT, OWNER)  # the worker forgot the new password
    assert sign_in(worker.user.username, "pw", OWNER).status_code == 429

    answer = api(supervisor).post(f"/api/v1/users/{worker.user.pk}/unlock/")

    assert answer.status_code == 200
    assert sign_in(worker.user.username, "pw", OWNER).status_code == 200
    event = Event.objects.get(kind="user.unlocked", subject_id=worker.user.pk)
    assert event.actor == supervisor and event.subject_type == "user"
    assert event.district_id == supervisor.district_id


def test_only_the_districts_supervisors_and_administrators_unlock(district, worker, operator):
    elsewhere = f.UserFactory(role="supervisor", district=f.DistrictFactory())
    guess(worker.user.username, LIMIT, OWNER)

    assert api(elsewhere).post(f"/api/v1/users/{worker.user.pk}/unlock/").status_code == 404
    assert api(operator).post(f"/api/v1/users/{worker.user.pk}/unlock/").status_code == 403
    assert api(worker.user).post(f"/api/v1/users/{worker.user.pk}/unlock/").status_code == 403
    assert sign_in(worker.user.username, "pw", OWNER).status_code == 429
