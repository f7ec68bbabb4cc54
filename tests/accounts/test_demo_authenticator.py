"""The demo keeps working with the second factor on: its staff accounts have authenticators with
public, fixed secrets (like the demo password), which deploy/up prints and `totp_now` reads, in
development only and for those accounts only."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from backend.accounts.otp import demo_otp_key, otp_device
from tests import factories as f

from .conftest import sign_in

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_demo_authenticator_is_the_same_every_time_and_signs_in(operator, settings):
    settings.DEBUG = True

    first = run("otp_enrol", "--demo", operator.username)
    again = run("otp_enrol", "--demo", operator.username)
    code = run("totp_now", operator.username).strip()

    assert first == again and f"otpauth://totp/Anxin%3A{operator.username}?" in first
    assert otp_device(operator).key == demo_otp_key(operator.username)
    assert sign_in(operator.username, "pw", otp=code).status_code == 200


def test_demo_secrets_are_for_development_only(operator, settings):
    settings.DEBUG = True
    run("otp_enrol", "--demo", operator.username)
    settings.DEBUG = False

    with pytest.raises(CommandError):
        run("totp_now", operator.username)
    with pytest.raises(CommandError):
        run("otp_enrol", "--demo", operator.username)


def test_totp_now_refuses_an_account_with_a_secret_of_its_own(operator, settings):
    settings.DEBUG = True
    f.totp_device(operator)

    with pytest.raises(CommandError):
        run("totp_now", operator.username)
    assert "its own authenticator" in run("otp_enrol", "--demo", operator.username)
