"""Passwords set through the API meet the validators, for every role: at least 10 characters,
not a common password, not all digits, not like the username."""

import pytest

from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


def add_worker(admin, provider, password: str):
    return api(admin).post(
        f"/api/v1/providers/{provider.pk}/workers/",
        {
            "username": "zhang.xiuying",
            "password": password,
            "full_name": "张秀英",
            "phone": "137 0013 7000",
        },
        format="json",
    )


@pytest.mark.parametrize(
    "password",
    [
        "short-pw9",  # 9 characters
        "1234567890123",  # all digits
        "password1234",  # a common password
        "zhang.xiuying1",  # the username
    ],
)
def test_a_weak_password_for_a_new_worker_is_refused_naming_password(district, password):
    provider = f.ProviderFactory(district=district)
    admin = f.UserFactory(role="provider_admin")
    provider.admins.add(admin)

    answer = add_worker(admin, provider, password)

    assert answer.status_code == 400
    assert "password" in answer.json()["error"]["fields"]


def test_a_strong_password_for_a_new_worker_is_taken(district):
    provider = f.ProviderFactory(district=district)
    admin = f.UserFactory(role="provider_admin")
    provider.admins.add(admin)

    assert add_worker(admin, provider, "river-lantern-97").status_code == 201


def test_changing_ones_own_password_meets_the_validators_too(family):
    answer = api(family).post(
        "/api/v1/me/password/",
        {"old_password": "pw", "new_password": "12345678901"},
        format="json",
    )

    assert answer.status_code == 400
    assert "new_password" in answer.json()["error"]["fields"]


def test_a_short_password_is_refused_by_the_validators_own_words(district):
    provider = f.ProviderFactory(district=district)
    admin = f.UserFactory(role="provider_admin")
    provider.admins.add(admin)

    answer = add_worker(admin, provider, "abc1234")

    assert answer.status_code == 400
    assert "at least 10 characters" in " ".join(answer.json()["error"]["fields"]["password"])
