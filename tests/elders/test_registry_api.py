import pytest

from elders.models import AccessLog, Elder
from tests import factories as f
from tests.conftest import api
from tests.elders import ids

pytestmark = pytest.mark.django_db

NEW_ELDER = {
    "full_name": "李桂兰",
    "gender": "female",
    "birth_date": "1940-03-15",
    "phone": "138 0013 8001",
    "landline": "0431-8888 1234",
    "address": "长春市朝阳区湖西路 3 号",
    "location": {"type": "Point", "coordinates": [125.3245, 43.8868]},
    "division_code": "220104002003",
    "living_arrangement": "alone",
    "categories": ["advanced_age", "low_income"],
    "id_number": ids.FEMALE_1940,
}


def test_an_operator_registers_an_elder_and_sees_that_an_id_number_is_on_file(operator):
    response = api(operator).post("/api/v1/elders/", NEW_ELDER, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["has_id_number"] is True
    assert body["division_levels"] == {
        "province": "22",
        "city": "2201",
        "county": "220104",
        "township": "220104002",
        "village": "220104002003",
    }
    assert ids.FEMALE_1940 not in str(body)
    assert body["phone"] == "+8613800138001" and body["landline"] == "+8643188881234"
    elder = Elder.objects.get(pk=body["id"])
    assert ids.FEMALE_1940 not in elder.id_number_encrypted


def test_an_id_number_that_contradicts_the_birth_date_or_gender_is_refused(operator):
    wrong_gender = {**NEW_ELDER, "gender": "male"}
    wrong_birth = {**NEW_ELDER, "birth_date": "1941-03-15"}

    for body in (wrong_gender, wrong_birth):
        response = api(operator).post("/api/v1/elders/", body, format="json")
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == ["id_number"]
    assert not Elder.objects.exists()


@pytest.mark.usefixtures("english")
def test_the_same_id_number_cannot_be_registered_twice(operator):
    api(operator).post("/api/v1/elders/", NEW_ELDER, format="json")

    again = api(operator).post("/api/v1/elders/", {**NEW_ELDER, "full_name": "x"}, format="json")

    assert again.status_code == 400
    assert again.json()["error"]["fields"]["id_number"] == ["another elder has this ID number"]


def test_gcj02_home_positions_are_converted_once(operator):
    from backend.core.geo import wgs84_to_gcj02

    gcj = wgs84_to_gcj02(125.3245, 43.8868)
    body = {**NEW_ELDER, "location": {"type": "Point", "coordinates": list(gcj)}, "crs": "gcj02"}

    response = api(operator).post("/api/v1/elders/", body, format="json")

    lng, lat = response.json()["location"]["coordinates"]
    assert abs(lng - 125.3245) < 1e-6 and abs(lat - 43.8868) < 1e-6


def test_revealing_the_id_number_needs_the_role_and_is_logged_with_the_purpose(registered, user_of):
    admin = user_of("district_admin")
    operator = user_of("operator")

    refused = api(operator).post(
        f"/api/v1/elders/{registered.pk}/id-number/reveal/", {"purpose": "curious"}, format="json"
    )
    shown = api(admin).post(
        f"/api/v1/elders/{registered.pk}/id-number/reveal/",
        {"purpose": "subsidy eligibility check 2026-11"},
        format="json",
    )
    no_purpose = api(admin).post(
        f"/api/v1/elders/{registered.pk}/id-number/reveal/", {}, format="json"
    )

    assert refused.status_code == 403
    assert shown.json()["id_number"] == ids.STANDARD_FEMALE_1949
    assert no_purpose.status_code == 400
    log = AccessLog.objects.get()
    assert (log.user, log.field, log.purpose) == (
        admin,
        "id_number",
        "subsidy eligibility check 2026-11",
    )


def test_a_family_account_gets_404_for_another_familys_elder(registered, district, user_of):
    mine = f.ElderFactory(district=district)
    family = user_of("family")
    f.ContactFactory(elder=mine, user=family)

    assert api(family).get(f"/api/v1/elders/{mine.pk}/").status_code == 200
    for path in ("", "health/?purpose=x", "assessments/", "contacts/", "care-needs/"):
        assert api(family).get(f"/api/v1/elders/{registered.pk}/{path}").status_code == 404


def test_health_reads_are_logged_with_the_callers_purpose(registered, user_of):
    operator = user_of("operator")
    api(operator).put(
        f"/api/v1/elders/{registered.pk}/health/", {"allergies": "penicillin"}, format="json"
    )

    without = api(operator).get(f"/api/v1/elders/{registered.pk}/health/")
    read = api(operator).get(f"/api/v1/elders/{registered.pk}/health/?purpose=emergency call")

    assert without.status_code == 400
    assert read.json()["allergies"] == "penicillin"
    assert list(AccessLog.objects.values_list("field", "purpose")) == [("health", "emergency call")]


def test_the_care_plan_takes_valid_rrules_only(registered, user_of):
    operator = user_of("operator")
    url = f"/api/v1/elders/{registered.pk}/care-needs/"

    lunch = api(operator).post(
        url,
        {
            "service_code": "meal",
            "rrule": "FREQ=DAILY;BYHOUR=11;BYMINUTE=30",
            "starts_on": "2026-12-01",
        },
        format="json",
    )
    nonsense = api(operator).post(
        url,
        {"service_code": "meal", "rrule": "every day please", "starts_on": "2026-12-01"},
        format="json",
    )

    assert lunch.status_code == 201, lunch.json()
    assert nonsense.status_code == 400
    assert "rrule" in nonsense.json()["error"]["fields"]


def test_contacts_keep_their_priority_order_and_refuse_a_duplicate_priority(registered, user_of):
    operator = user_of("operator")
    url = f"/api/v1/elders/{registered.pk}/contacts/"
    api(operator).post(
        url,
        {"priority": 2, "name": "李明", "relationship": "son", "phone": "13900139000"},
        format="json",
    )
    api(operator).post(
        url,
        {
            "priority": 1,
            "name": "李红",
            "relationship": "daughter",
            "phone": "13900139001",
            "wants_sms": False,
        },
        format="json",
    )

    clash = api(operator).post(
        url, {"priority": 1, "name": "x", "phone": "13900139002"}, format="json"
    )
    listed = api(operator).get(url).json()

    assert clash.status_code == 400
    assert [(c["priority"], c["name"]) for c in listed] == [(1, "李红"), (2, "李明")]
