"""What leaves the process in a log line: never a phone number or an ID number.

Services log ids of rows, not people's data (settings: "Never log an ID number, a health note or
a position"). This filter is the second line: it sits on every handler, and rewrites any record
(message, arguments and traceback, whoever wrote it: a database error's DETAIL line quoting a
row, a library logging a task's arguments) so that phone numbers and resident ID numbers come
out as `[phone]` and `[id-number]`.
"""

import logging
import os
import re
import traceback
from pathlib import Path

# A number stands alone: not inside a longer run of digits or letters (a task id's hex), nor a
# decimal's fraction (0.0213...). Chinese text around it does not count as letters.
_START, _END = r"(?<![0-9A-Za-z])(?<!\d\.)", r"(?![0-9A-Za-z])(?!\.\d)"
PATTERNS = [
    # Resident ID numbers (GB 11643): 17 digits and a check character.
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"), "[id-number]"),
    # E.164 numbers, as stored and sent (+8613800138000), and Chinese mobiles and landlines as
    # people type them (138 0013 8000, 0431-8888 1234).
    (re.compile(r"\+\d{7,15}(?!\d)"), "[phone]"),
    (re.compile(rf"{_START}(?:(?:00)?86[ -]?)?1[3-9]\d[ -]?\d{{4}}[ -]?\d{{4}}{_END}"), "[phone]"),
    (re.compile(rf"{_START}0\d{{2,3}}[ -]\d{{3,4}}[ -]?\d{{4}}{_END}"), "[phone]"),
]


def phone_tail(number: str) -> str:
    """How a log line may name a phone number: its last four digits (`…8000`)."""
    digits = re.sub(r"\D", "", number)
    return f"…{digits[-4:]}" if len(digits) >= 4 else "…"


def redact(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactPersonalData(logging.Filter):
    """Renders the record's message and traceback once, redacted, in place of the originals."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            record.exc_info = None
            record.exc_text = None
        if record.stack_info:
            message += "\n" + record.stack_info
            record.stack_info = None
        record.msg, record.args = redact(message), ()
        return True


class ProcessFileHandler(logging.FileHandler):
    """One file per process in `directory` (ANXIN_LOG_DIR), so that a server, its workers and
    a test run can all write there at once."""

    def __init__(self, directory: str) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        super().__init__(Path(directory) / f"process-{os.getpid()}.log", encoding="utf-8")
