import pytest

from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "typed",
    [
        "138 0013 8000",
        "+86 138-0013-8000",
        "008613800138000",
        "13800138000",
        "+8613800138000",
        "(+86) 138 0013 8000",
    ],
)
def test_a_mobile_number_is_found_in_any_format(typed, district, operator):
    elder = f.ElderFactory(district=district, phone="+8613800138000")

    found = api(operator).get("/api/v1/elders/lookup/", {"phone": typed}).json()

    assert [(e["id"], e["matched_on"]) for e in found] == [(elder.pk, "mobile")]


@pytest.mark.parametrize(
    "typed", ["0431-8888 1234", "043188881234", "+86 431 8888 1234", "0086 431 88881234"]
)
def test_a_couple_on_one_landline_are_both_returned(typed, district, operator):
    wife = f.ElderFactory(district=district, landline="+8643188881234", full_name="王秀英")
    husband = f.ElderFactory(district=district, landline="+8643188881234", full_name="李建国")
    f.ElderFactory(district=district, landline="+8643188889999")

    found = api(operator).get("/api/v1/elders/lookup/", {"phone": typed}).json()

    assert {e["id"] for e in found} == {wife.pk, husband.pk}
    assert {e["matched_on"] for e in found} == {"landline"}
    assert set(found[0]) == {"id", "full_name", "gender", "age", "address", "status", "matched_on"}


def test_a_son_calling_finds_his_mother_as_a_contact(district, operator):
    mother = f.ElderFactory(district=district)
    f.ContactFactory(elder=mother, phone="+8613900139000")

    found = api(operator).get("/api/v1/elders/lookup/", {"phone": "139 0013 9000"}).json()

    assert [(e["id"], e["matched_on"]) for e in found] == [(mother.pk, "contact")]


def test_lookup_is_scoped_to_the_district_and_to_staff(district, operator, family):
    f.ElderFactory(phone="+8613800138000")  # another district

    assert api(operator).get("/api/v1/elders/lookup/", {"phone": "13800138000"}).json() == []
    assert api(family).get("/api/v1/elders/lookup/", {"phone": "13800138000"}).status_code == 403


def test_garbage_finds_nobody_and_an_empty_number_is_a_400(operator):
    assert api(operator).get("/api/v1/elders/lookup/", {"phone": "12"}).json() == []
    assert api(operator).get("/api/v1/elders/lookup/").status_code == 400


def test_lookup_has_a_fixed_query_budget(district, operator, django_assert_max_num_queries):
    for _ in range(5):
        f.ElderFactory(district=district, landline="+8643188881234")

    with django_assert_max_num_queries(2):
        found = api(operator).get("/api/v1/elders/lookup/", {"phone": "043188881234"}).json()

    assert len(found) == 5
