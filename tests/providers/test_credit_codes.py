import pytest

from providers.credit_code import InvalidCreditCode, parse_credit_code

STANDARD_EXAMPLE = "91350100M000100Y43"  # printed in GB 32100-2015


def test_the_standards_example_is_valid_in_any_case_and_spacing():
    assert parse_credit_code(STANDARD_EXAMPLE) == STANDARD_EXAMPLE
    assert parse_credit_code("9135 0100 m000 100y 43") == STANDARD_EXAMPLE


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("91350100M000100Y44", "check character"),
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y433", "18 characters"),
        ("91350100I000100Y43", "capitals other than"),  # I is not in the alphabet
        ("91350100O000100Y43", "capitals other than"),
        ("9135A100M000100Y43", "division code"),
        ("", "18 characters"),
    ],
)
@pytest.mark.usefixtures("english")
def test_invalid_codes_say_why(value, reason):
    with pytest.raises(InvalidCreditCode) as refused:
        parse_credit_code(value)

    assert reason in refused.value.reason


@pytest.mark.parametrize("position", range(17))
def test_changing_any_single_character_of_the_example_is_caught(position):
    original = STANDARD_EXAMPLE
    replacement = "1" if original[position] != "1" else "2"
    changed = original[:position] + replacement + original[position + 1 :]

    with pytest.raises(InvalidCreditCode):
        parse_credit_code(changed)
