"""What a log line may hold: no phone number and no ID number, whoever writes it."""

import logging

import pytest

from backend.core.logging import RedactPersonalData, phone_tail, redact
from tests.log_audit import FOUND


@pytest.mark.parametrize(
    "text",
    [
        "to=+8613800138000",
        "Failing row contains (797, 张3, +8613700000003, , {meal})",
        "lookup ?phone=138 0013 8000",
        "mobile 13800138000.",
        "landline 0431-8888 1234",
        "from 008613800138000",
        "id 11010519491231002X and 110105194912310021",
    ],
)
def test_phone_and_id_numbers_are_redacted_and_the_audit_agrees(text):
    out = redact(text)

    assert not any(pattern.search(out) for pattern in FOUND.values()), out
    assert any(pattern.search(text) for pattern in FOUND.values())


def test_times_ids_and_amounts_are_left_alone():
    text = "request=1234 at 2026-12-01T21:14:52.445Z took 0.021089517000007163s price 15.00"

    assert redact(text) == text


def test_a_task_ids_hex_is_not_a_phone_number():
    """A Celery task id's last group can be a letter and eleven digits."""
    text = "Task dispatch.tasks.request_match[3d54ae26-929a-4765-8d89-a13845762938] succeeded"

    assert redact(text) == text
    assert not any(pattern.search(text) for pattern in FOUND.values())


def test_a_message_ids_hex_is_not_an_id_number():
    """A notification's hex id can hold eighteen digits after a letter (seen in a CI run)."""
    text = "sms_send[9dd8e6bd] succeeded in 0.00032s: '3a94e064e6af4c479305490303222299'"

    assert redact(text) == text
    assert not any(pattern.search(text) for pattern in FOUND.values())


def test_a_phone_number_in_chinese_text_is_redacted():
    assert redact("家属电话13800138000请回电") == "家属电话[phone]请回电"


def test_the_filter_redacts_arguments_and_tracebacks():
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "sent to %s", ("+8613800138000",), None
    )
    try:
        raise ValueError("DETAIL: Failing row contains (+8613700000003)")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()

    RedactPersonalData().filter(record)

    text = logging.Formatter().format(record)
    assert "+86138" not in text and "+86137" not in text
    assert "sent to [phone]" in text and "Failing row contains ([phone])" in text


def test_a_log_line_names_a_phone_by_its_last_four_digits():
    assert phone_tail("+8613800138000") == "…8000"
