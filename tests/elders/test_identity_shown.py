"""What each role is shown of who an elder is: that an ID number is on file (never its
digits), the birth date only to the roles that may reveal the number anyway, the age to the
others, counted in Asia/Shanghai."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from elders import services
from tests import factories as f
from tests.conftest import api
from tests.elders import ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def without_id(district, operator):
    return services.elder_create(
        actor=operator,
        district_id=district.pk,
        full_name="赵淑珍",
        gender="female",
        birth_date=None,
        address="长春市朝阳区红旗街 9 号",
        location=f.point(*f.HOME),
    )


def viewer(role, user_of, elders):
    user = user_of(role)
    if role == "family":
        for elder in elders:
            f.ContactFactory(elder=elder, user=user, priority=1)
    return user


@pytest.mark.parametrize("role", ["operator", "family", "supervisor", "district_admin"])
def test_the_file_says_whether_an_id_number_is_on_file_and_shows_none_of_it(
    role, registered, without_id, user_of
):
    user = viewer(role, user_of, [registered, without_id])

    with_number = api(user).get(f"/api/v1/elders/{registered.pk}/").json()
    without_number = api(user).get(f"/api/v1/elders/{without_id.pk}/").json()

    assert (with_number["has_id_number"], without_number["has_id_number"]) == (True, False)
    assert not [k for k in with_number if k.startswith("id_number")]
    assert "002X" not in str(with_number)


@pytest.mark.parametrize("role", ["operator", "family"])
def test_operators_and_families_get_the_age_not_the_birth_date(role, registered, user_of):
    user = viewer(role, user_of, [registered])

    file = api(user).get(f"/api/v1/elders/{registered.pk}/").json()
    listed = api(user).get("/api/v1/elders/").json()["results"]

    assert "birth_date" not in file and isinstance(file["age"], int)
    assert all("birth_date" not in row for row in listed)
    assert "1949-12-31" not in str(file) + str(listed)


@pytest.mark.parametrize("role", ["supervisor", "district_admin"])
def test_the_roles_that_may_reveal_the_number_see_the_birth_date(role, registered, user_of):
    file = api(user_of(role)).get(f"/api/v1/elders/{registered.pk}/").json()

    assert file["birth_date"] == "1949-12-31"


def test_registering_answers_the_operator_with_the_age_not_the_birth_date(operator):
    body = {
        "full_name": "李桂兰",
        "gender": "female",
        "birth_date": "1940-03-15",
        "address": "长春市朝阳区湖西路 3 号",
        "location": {"type": "Point", "coordinates": list(f.HOME)},
        "id_number": ids.FEMALE_1940,
    }

    created = api(operator).post("/api/v1/elders/", body, format="json").json()

    assert "birth_date" not in created and created["has_id_number"] is True
    assert "0021" not in str(created)


def test_the_age_turns_on_the_birthday_in_asia_shanghai(district, operator, monkeypatch):
    elder = f.ElderFactory(district=district, birth_date=datetime(1940, 3, 15).date())
    elder.phone = "+8613800138000"
    elder.save()
    # 17:30 UTC on 14 March is 01:30 on 15 March in Shanghai: her 90th birthday there
    monkeypatch.setattr(timezone, "now", lambda: datetime(2030, 3, 14, 17, 30, tzinfo=UTC))

    file = api(operator).get(f"/api/v1/elders/{elder.pk}/").json()
    listed = api(operator).get("/api/v1/elders/").json()["results"]
    found = api(operator).get("/api/v1/elders/lookup/", {"phone": "13800138000"}).json()

    assert file["age"] == listed[0]["age"] == found[0]["age"] == 90
