"""The log audit: a pytest plugin (pyproject's addopts loads it) that reads everything the test
run logged at DEBUG, its servers' and Celery workers' files included (ANXIN_LOG_DIR, set by
backend/settings/test.py), and fails the run if any line holds a phone number or a resident ID
number. It first proves it can see a DEBUG line, so it cannot pass by seeing nothing.

Its patterns are wider than the redacting filter's (backend/core/logging.py): a number the
filter misses in some spelling is caught here.
"""

import contextlib
import logging
import os
import re
import secrets
import shutil
from pathlib import Path

import pytest

CANARY = f"log-audit-canary-{secrets.token_hex(8)}"
FOUND = {
    "phone numbers": re.compile(
        r"\+\d{8,15}|(?<![0-9A-Za-z])(?:(?:00)?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![0-9A-Za-z])"
        r"|(?<![0-9A-Za-z])0\d{2,3}[ -]\d{3,4}[ -]?\d{4}(?![0-9A-Za-z])"
    ),
    # As for phone numbers: digits inside a run of letters and digits (a hex message or task id,
    # '...af4c479305490303222299') are not an ID number.
    "ID numbers": re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),
}


def _directory() -> Path | None:
    value = os.environ.get("ANXIN_LOG_DIR")
    return Path(value) if value else None


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger("anxin.log_audit").debug("%s: the audit can see DEBUG lines", CANARY)


def audit(directory: Path) -> dict:
    """Counts of lines, files and findings; `leaks` holds (file, line number, kind)."""
    files = sorted(directory.glob("*.log"))
    result = {"files": len(files), "lines": 0, "canary": False, "leaks": []}
    for path in files:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            result["lines"] += 1
            result["canary"] = result["canary"] or CANARY in line
            for kind, pattern in FOUND.items():
                if pattern.search(line):
                    result["leaks"].append((path.name, number, kind))
    return result


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the run's controller audits every process's files at its end
    directory = _directory()
    if directory is None or not directory.exists():
        return
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(ValueError, OSError):  # a stream pytest's capture closed
            handler.flush()
    result = audit(directory)
    counts = {kind: sum(1 for leak in result["leaks"] if leak[2] == kind) for kind in FOUND}
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    line = (
        f"log audit: {result['lines']} lines in {result['files']} files at DEBUG "
        f"(DEBUG line seen: {'yes' if result['canary'] else 'NO'}), "
        + ", ".join(f"{n} {kind}" for kind, n in counts.items())
    )
    if reporter is not None:
        reporter.write_line(line)
    if not result["canary"] or result["leaks"]:
        for name, number, kind in result["leaks"][:20]:
            if reporter is not None:
                reporter.write_line(f"  {kind} in {directory / name}, line {number}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    shutil.rmtree(directory, ignore_errors=True)
