"""Throttles, lockouts, one-time codes and token versions live in Redis, so a limit counted by
one server process holds in every other."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from .conftest import ATTACKER, sign_in

pytestmark = pytest.mark.django_db


def test_the_cache_is_redis():
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")


def test_a_lockout_counted_here_holds_in_another_process(worker):
    for n in range(5):
        sign_in(worker.user.username, f"guess-{n}", ATTACKER)

    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup();"
            "from backend.accounts.lockout import is_locked_out;"
            f"print(is_locked_out(username={worker.user.username!r}, address={ATTACKER!r}))",
        ],
        env={**os.environ, "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"]},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert probe.stdout.strip().splitlines()[-1:] == ["True"], probe.stderr[-2000:]
