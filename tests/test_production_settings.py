import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "backend.settings.production",
    "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-for-the-check" + "y" * 10,
    "DJANGO_ALLOWED_HOSTS": "anxin.example.org",
    "DATABASE_URL": "postgis://anxin:secret@db.internal:5432/anxin",
    "REDIS_URL": "redis://redis.internal:6379",
    "ANXIN_NOTIFICATION_BACKEND": "backend.telephony.backends.FileBackend",
    "ANXIN_FIELD_KEYS": "pGmL2oBx1n3dJ0Yb7Fq9kz8H5cW4vT6sR2eU1aQ0iXo=",
    "ANXIN_LOOKUP_HASH_KEY": "a-production-lookup-key",
}


def manage(*args, env):
    prefixes = ("DJANGO_", "DATABASE_", "REDIS_", "ANXIN_", "CELERY_", "CHANNELS_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_passes_under_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_its_secrets():
    for missing in (
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "DJANGO_ALLOWED_HOSTS",
        "ANXIN_FIELD_KEYS",
        "ANXIN_LOOKUP_HASH_KEY",
    ):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}

        result = manage("check", env=env)

        assert result.returncode != 0, missing
        assert missing in result.stderr, result.stderr[-500:]


def test_production_refuses_a_development_secret():
    result = manage("check", env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "dev-only-not-secret"})

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
