import pytest

from tests import factories as f


@pytest.fixture
def provider_admin(district):
    def make(provider):
        admin = f.UserFactory(role="provider_admin")
        provider.admins.add(admin)
        return admin

    return make


@pytest.fixture
def district_admin(district):
    return f.UserFactory(role="district_admin", district=district)
