"""What every benchmark command that writes into the database checks first."""

import os

from django.conf import settings
from django.core.management.base import CommandError


def benchmark_allowed(command: str, writes: str) -> None:
    """Refuse unless on development settings (DEBUG) or where ANXIN_BENCHMARK_ALLOWED=1 says it
    may; never on production settings. `writes`: what the command writes, for the message."""
    allowed = os.environ.get("ANXIN_BENCHMARK_ALLOWED", "").lower() in ("1", "true", "yes")
    production = os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".production")
    if production or not (settings.DEBUG or allowed):
        raise CommandError(
            f"{command} writes {writes} into this database: it runs on development settings "
            "(DEBUG) or where ANXIN_BENCHMARK_ALLOWED=1 says it may, never on production settings"
        )
