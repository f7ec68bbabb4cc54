from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elders.identity import InvalidIdNumber, parse_id_number
from tests.elders import ids


@pytest.mark.parametrize(
    ("value", "born", "gender"),
    [
        (ids.STANDARD_FEMALE_1949, date(1949, 12, 31), "female"),
        (ids.STANDARD_MALE_1880, date(1880, 1, 1), "male"),
        (ids.MALE_1940, date(1940, 3, 15), "male"),
    ],
)
def test_valid_numbers_give_birth_date_and_gender(value, born, gender):
    parsed = parse_id_number(value)

    assert (parsed.birth_date, parsed.gender) == (born, gender)


def test_a_lower_case_x_and_spaces_are_accepted():
    assert parse_id_number("110105 19491231 002x").value == ids.STANDARD_FEMALE_1949


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("110105194912310021", "check character"),  # the standard's example, last char changed
        ("440524188001010015", "check character"),
        ("11010519490230002X", "does not exist"),  # 30 February
        ("11010519491331002X", "does not exist"),  # month 13
        ("11010521491231002X", "impossible"),  # born in 2149
        ("11010519491231002", "17 digits"),
        ("1101051949123100XX", "17 digits"),
        ("", "17 digits"),
    ],
)
@pytest.mark.usefixtures("english")
def test_invalid_numbers_say_why(value, reason):
    with pytest.raises(InvalidIdNumber) as refused:
        parse_id_number(value)

    assert reason in refused.value.reason


@given(position=st.integers(0, 16), digit=st.integers(0, 9))
def test_any_single_digit_change_to_the_standards_example_is_caught(position, digit):
    original = ids.STANDARD_FEMALE_1949
    changed = original[:position] + str(digit) + original[position + 1 :]
    if changed == original:
        return

    with pytest.raises(InvalidIdNumber):
        parse_id_number(changed)
