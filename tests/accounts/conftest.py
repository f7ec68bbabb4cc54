import pytest
from rest_framework.test import APIClient

from tests import factories as f

TOKEN = "/api/v1/auth/token/"
ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"


def sign_in(username: str, password: str, address: str = OWNER, **extra):
    """The token endpoint as a phone at `address` calls it; HTTP_* arguments are headers, the
    rest (`otp`) go in the body."""
    headers = {k: v for k, v in extra.items() if k.startswith("HTTP_")}
    fields = {k: v for k, v in extra.items() if not k.startswith("HTTP_")}
    return APIClient().post(
        TOKEN,
        {"username": username, "password": password, **fields},
        format="json",
        REMOTE_ADDR=address,
        **headers,
    )


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def supervisor(district):
    return f.UserFactory(role="supervisor", district=district, is_staff=True)


@pytest.fixture
def district_admin(district):
    return f.UserFactory(role="district_admin", district=district, is_staff=True)


@pytest.fixture
def worker(make_worker):
    return make_worker()
