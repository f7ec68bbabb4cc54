"""An operator confirms a caller by the last digits of the ID number the caller says: the answer
is match or no match, every attempt is logged, and attempts are limited per operator and per
elder so the answer cannot be used to read the number digit by digit."""

import pytest

from elders.models import AccessLog
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db


def check(user, elder, digits, **extra):
    return api(user).post(
        f"/api/v1/elders/{elder.pk}/id-number/check/",
        {"last_digits": digits, **extra},
        format="json",
    )


@pytest.mark.parametrize(
    ("said", "match"),
    [("002X", True), ("002x", True), ("31002X", True), ("1231002X", None), ("0021", False)],
)
def test_the_operator_gets_match_or_no_match_for_the_last_digits(said, match, registered, operator):
    # Given an elder whose number on file is 11010519491231002X
    # When the operator types the last digits the caller says
    response = check(operator, registered, said)

    # Then 4 to 6 characters get match or no match, and nothing of the number
    if match is None:
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == ["last_digits"]
    else:
        assert response.status_code == 200, response.json()
        assert response.json() == {"match": match}


@pytest.mark.parametrize("said", ["", "123", "12 34", "abcd", "X002"])
def test_anything_but_4_to_6_final_characters_is_a_400_naming_the_field(said, registered, operator):
    response = check(operator, registered, said)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["last_digits"]
    assert not AccessLog.objects.exists()


def test_every_attempt_is_logged_with_who_and_the_answer(registered, operator):
    check(operator, registered, "002X", purpose="caller 138 asks for a bath")
    check(operator, registered, "0029")

    rows = list(AccessLog.objects.order_by("pk").values_list("user", "field", "purpose"))
    assert rows == [
        (operator.pk, "id_number_check", "caller 138 asks for a bath: match"),
        (operator.pk, "id_number_check", "confirm a caller's identity: no match"),
    ]


@pytest.mark.parametrize("role", ["family", "worker", "provider_admin"])
def test_only_district_staff_may_check(role, registered, user_of, make_worker):
    user = make_worker().user if role == "worker" else user_of(role)
    if role == "family":
        f.ContactFactory(elder=registered, user=user)

    response = check(user, registered, "002X")

    assert response.status_code in (403, 404)
    assert "match" not in response.json()
    assert not AccessLog.objects.exists()


def test_another_districts_elder_is_404(registered):
    stranger = f.UserFactory(role="operator")  # a district of their own

    assert check(stranger, registered, "002X").status_code == 404


def test_an_elder_with_no_number_on_file_is_a_422(district, operator):
    elder = f.ElderFactory(district=district)

    response = check(operator, elder, "002X")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "no_id_number"


def test_one_elder_takes_5_attempts_an_hour_whoever_asks(registered, operator, user_of):
    colleague = user_of("operator")
    answers = [check(operator, registered, f"{n:04d}").status_code for n in range(3)]
    answers += [check(colleague, registered, f"{n:04d}").status_code for n in range(3)]

    refused = check(colleague, registered, "002X")

    assert answers == [200] * 5 + [429]
    assert refused.status_code == 429 and "match" not in refused.json()
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert refused.json()["error"]["code"] == "too_many_attempts"
    assert AccessLog.objects.count() == 5


def test_one_operator_takes_20_attempts_an_hour_across_elders(district, operator):
    from elders import services
    from tests.elders import ids

    elders = [
        services.elder_create(
            actor=operator,
            district_id=district.pk,
            full_name=f"王{n}",
            gender="female",
            address="长春市朝阳区红旗街 8 号",
            location=f.point(*f.HOME),
            id_number=number,
        )
        for n, number in enumerate(
            [ids.FEMALE_1940, ids.FEMALE_1938, ids.FEMALE_1945, ids.FEMALE_1952, ids.FEMALE_1941]
        )
    ]
    answers = [check(operator, elder, "9999").status_code for elder in elders for _ in range(4)]

    twenty_first = check(operator, elders[0], "0021")

    assert answers == [200] * 20
    assert twenty_first.status_code == 429
