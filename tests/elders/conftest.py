import uuid

import pytest

from elders import services
from tests import factories as f
from tests.elders import ids


@pytest.fixture
def registered(district, operator):
    """An elder registered through the service, with an ID number on file."""
    return services.elder_create(
        actor=operator,
        district_id=district.pk,
        full_name="王秀英",
        gender="female",
        birth_date=None,
        address="长春市朝阳区红旗街 8 号",
        location=f.point(*f.HOME),
        phone="+8613800138000",
        id_number=ids.STANDARD_FEMALE_1949,
    )


@pytest.fixture
def user_of(district):
    def make(role, **kwargs):
        if role in ("operator", "supervisor", "district_admin"):
            kwargs.setdefault("district", district)
        return f.UserFactory(role=role, **kwargs)

    return make


@pytest.fixture(autouse=True)
def _attempt_counters_of_its_own(monkeypatch):
    """Attempt limits count in the shared cache: each test counts under a prefix of its own,
    so none inherits another's attempts (and no test clears the whole cache)."""
    monkeypatch.setattr("elders.limits.KEY_PREFIX", f"anxin-test:limits:{uuid.uuid4().hex}")
