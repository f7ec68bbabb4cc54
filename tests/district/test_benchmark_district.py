"""`manage.py benchmark_district` on a tiny district: every figure it prints agrees with the
district it seeded and with the other figures (the same elders counted by coverage, the same
work orders by day and by month, the verified visits as arrivals, scored and settled), it
gives a verdict, and it leaves nothing behind. It refuses where benchmarks may not write."""

import io
import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from backend.accounts.models import District, User
from district.synthetic import CODE, USERNAME

pytestmark = pytest.mark.django_db


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, f"{pattern!r} not in the output:\n{text}"
    return int(found.group(1))


def _line(start: str, text: str) -> str:
    """The detail line printed under the question named `start`."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(start))
    return lines[at + 1]


def test_a_tiny_run_prints_figures_that_agree_and_leaves_nothing(monkeypatch):
    monkeypatch.setenv("ANXIN_BENCHMARK_ALLOWED", "1")
    out = io.StringIO()

    call_command(
        "benchmark_district",
        *("--elders", "300", "--workers", "24", "--providers", "6", "--orders", "400"),
        *("--repeat", "2"),
        stdout=out,
    )

    text = out.getvalue()
    active = _number(r"elders 300 \(active (\d+)\)", text)
    visits = _number(r"visits (\d+) \(verified", text)
    verified = _number(r"\(verified (\d+)\)", text)
    assert "work orders 400 in " in text
    assert 0 < verified < visits < 400
    coverage = _line("coverage: every service type (10)", text)
    assert f"active elders {active};" in coverage
    gaps = [int(n) for n in re.findall(r" (\d+)(?:,|$)", coverage.split("in the gap:")[1])]
    assert len(gaps) == 10 and all(0 <= n <= active for n in gaps)
    meal_gap = _number(r"meal gap (\d+) elders", text)
    assert f"meal {meal_gap}" in coverage
    assert f"holding {meal_gap} elders in the gap" in text
    by_day, by_month = _line("responses: by day", text), _line("responses: by month", text)
    assert by_day.strip().startswith("periods ") and "(requests 400), requests 400," in by_day
    assert f"arrived {verified}," in by_day
    assert by_day.split("), ", 1)[1] == by_month.split("), ", 1)[1]
    # Held back: the pending and rejected exceptions; approved ones are exceptions too.
    assert _number(r"exceptions (\d+)", by_day) >= visits - verified
    assert "providers 6, scored" in text and f"verified visits {verified}" in text
    settled = _line("settlement: every statement of ", text)
    assert f"statements 6, lines {verified}, held {visits - verified}," in settled
    total, *parts = re.findall(r"(\d+\.\d\d)", settled)
    assert Decimal(total) == sum(Decimal(p) for p in parts) > 0
    assert re.search(r"^verdict: coverage .* met; settlement .* met \(medians\)$", text, re.M)
    assert "runs" in text and re.search(r"^coverage: every service type \(10\) +2 ", text, re.M)
    assert not District.objects.filter(code=CODE).exists()
    assert not User.objects.filter(username__startswith=USERNAME).exists()


def test_it_refuses_unless_allowed_and_writes_nothing(monkeypatch, settings):
    settings.DEBUG = False
    monkeypatch.setenv("ANXIN_BENCHMARK_ALLOWED", "")

    with pytest.raises(CommandError, match="never on production settings"):
        call_command("benchmark_district", "--elders", "10")

    assert not District.objects.filter(code=CODE).exists()
