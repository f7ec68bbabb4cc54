"""Staff (operator, supervisor, district administrator) sign in with a password and a TOTP code:
a password alone gives no token, no session, no admin and no WebSocket ticket. Workers,
provider admins and families sign in with a password alone (for now)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from tests import factories as f

from .conftest import bearer, sign_in

pytestmark = pytest.mark.django_db


def test_a_staff_password_alone_gets_no_token(operator):
    f.totp_device(operator)

    answer = sign_in(operator.username, "pw")

    assert answer.status_code == 400
    assert "otp" in answer.json()["error"]["fields"]
    assert "access" not in answer.json()


def test_a_wrong_code_gets_no_token(operator):
    device = f.totp_device(operator)

    answer = sign_in(operator.username, "pw", otp=f.totp_code(device, steps_ahead=10))

    assert answer.status_code == 401
    assert "otp" in answer.json()["error"]["fields"]


def test_the_right_code_gets_a_token_that_says_so(operator):
    device = f.totp_device(operator)

    answer = sign_in(operator.username, "pw", otp=f.totp_code(device))

    assert answer.status_code == 200
    assert "otp" in AccessToken(answer.json()["access"])["amr"]
    assert bearer(answer.json()["access"]).post("/api/v1/ws-ticket/").status_code == 201


def test_a_code_opens_one_sign_in_only(operator):
    device = f.totp_device(operator)
    code = f.totp_code(device)

    assert sign_in(operator.username, "pw", otp=code).status_code == 200
    assert sign_in(operator.username, "pw", otp=code).status_code == 401


def test_staff_without_a_device_get_no_token(district):
    supervisor = f.UserFactory(role="supervisor", district=district)

    answer = sign_in(supervisor.username, "pw", otp="123456")

    assert answer.status_code == 403
    assert "otp" in answer.json()["error"]["fields"]


@pytest.mark.parametrize("role", ["worker", "provider_admin", "family"])
def test_other_roles_sign_in_with_a_password(role):
    user = f.UserFactory(role=role)

    assert sign_in(user.username, "pw").status_code == 200


def test_a_staff_token_minted_without_the_second_factor_opens_nothing(operator):
    access = str(AccessToken.for_user(operator))

    assert bearer(access).get("/api/v1/me/").status_code == 401
    assert bearer(access).post("/api/v1/ws-ticket/").status_code == 401


def test_the_session_login_asks_staff_for_the_code(operator):
    device = f.totp_device(operator)
    without, with_code = Client(), Client()

    without.post("/api-auth/login/", {"username": operator.username, "password": "pw"})
    with_code.post(
        "/api-auth/login/",
        {"username": operator.username, "password": "pw", "otp": f.totp_code(device)},
    )

    assert without.get("/api/v1/me/").status_code in (401, 403)
    assert without.post("/api/v1/ws-ticket/").status_code in (401, 403)
    assert with_code.get("/api/v1/me/").status_code == 200
    assert with_code.post("/api/v1/ws-ticket/").status_code == 201


def test_a_staff_session_without_the_second_factor_opens_nothing(operator):
    browser = Client()
    browser.force_login(operator)

    assert browser.get("/api/v1/me/").status_code in (401, 403)


def test_the_admin_asks_for_the_code(supervisor):
    browser = Client()
    browser.post("/admin/login/", {"username": supervisor.username, "password": "pw"})

    assert browser.get("/admin/").status_code == 302  # back to the login page


def test_enrolment_prints_an_otpauth_uri(operator):
    out = StringIO()

    call_command("otp_enrol", operator.username, stdout=out)

    assert f"otpauth://totp/Anxin%3A{operator.username}?secret=" in out.getvalue()
    device = operator.totpdevice_set.get()
    assert device.confirmed
    assert sign_in(operator.username, "pw", otp=f.totp_code(device)).status_code == 200


def test_the_sign_in_page_asks_for_the_code(db):
    page = Client().get("/api-auth/login/")

    assert page.status_code == 200
    assert b'name="otp"' in page.content and b'name="password"' in page.content
