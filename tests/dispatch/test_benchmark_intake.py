"""benchmark_intake writes a district of its own: never where it was not asked to, never on
production settings. (Its run against real processes: tests/test_serving.py.)"""

import pytest
from django.core.management import CommandError, call_command

from backend.accounts.models import District


@pytest.mark.parametrize(
    ("allowed", "settings_module"),
    [
        ("", "backend.settings.test"),
        ("0", "backend.settings.test"),
        ("1", "backend.settings.production"),
    ],
)
def test_it_refuses_unless_development_or_allowed_and_never_on_production(
    allowed, settings_module, monkeypatch, settings, db
):
    settings.DEBUG = False
    monkeypatch.setenv("ANXIN_BENCHMARK_ALLOWED", allowed)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", settings_module)

    with pytest.raises(CommandError, match="never on production settings"):
        call_command("benchmark_intake", "--url", "http://127.0.0.1:9")

    assert not District.objects.filter(code="229998000000").exists()
