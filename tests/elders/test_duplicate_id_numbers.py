"""An ID number already on file answers the same whether the elder who has it is in one's own
district or another: that a number is on file somewhere is the one thing told (the leak the
issue accepts), never where."""

import pytest

from elders import services
from tests import factories as f
from tests.conftest import api
from tests.elders import ids
from tests.elders.test_import import row, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_file(district, operator):
    """FEMALE_1940 on file in the operator's district, FEMALE_1938 in 南关区 next door."""
    elsewhere = f.DistrictFactory(code="220102000000", name="南关区")
    for district_id, number in ((district.pk, ids.FEMALE_1940), (elsewhere.pk, ids.FEMALE_1938)):
        services.elder_create(
            actor=None,
            district_id=district_id,
            full_name="已登记",
            gender="female",
            address="长春市",
            location=f.point(*f.HOME),
            id_number=number,
        )
    return {"own": ids.FEMALE_1940, "elsewhere": ids.FEMALE_1938}


def register(operator, number):
    return api(operator).post(
        "/api/v1/elders/",
        {
            "full_name": "新老人",
            "gender": "female",
            "address": "长春市朝阳区湖西路 3 号",
            "location": {"type": "Point", "coordinates": list(f.HOME)},
            "id_number": number,
        },
        format="json",
    )


def test_registering_a_number_on_file_elsewhere_answers_as_one_on_file_here(on_file, operator):
    here = register(operator, on_file["own"])
    elsewhere = register(operator, on_file["elsewhere"])

    assert here.status_code == elsewhere.status_code == 400
    assert elsewhere.json() == here.json()
    assert "南关" not in elsewhere.content.decode() and "220102" not in elsewhere.content.decode()


def test_changing_a_number_to_one_on_file_elsewhere_answers_as_one_on_file_here(
    on_file, operator, district
):
    elder = f.ElderFactory(district=district)
    url = f"/api/v1/elders/{elder.pk}/"

    here = api(operator).patch(url, {"id_number": on_file["own"]}, format="json")
    elsewhere = api(operator).patch(url, {"id_number": on_file["elsewhere"]}, format="json")

    assert here.status_code == elsewhere.status_code == 400
    assert elsewhere.json() == here.json()


@pytest.mark.usefixtures("english")
def test_the_census_import_names_no_district_for_a_number_on_file_elsewhere(on_file, district):
    report = run([row("新老人", "女", on_file["elsewhere"])], district)
    api_answer = "another elder has this ID number"

    assert [(e.row, e.field, e.reason) for e in report.errors] == [(2, "id_number", api_answer)]
    assert "district" not in report.as_csv() + report.summary()
