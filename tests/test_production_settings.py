import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.core.queues import LANES

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "backend.settings.production",
    "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-for-the-check" + "y" * 10,
    "DJANGO_ALLOWED_HOSTS": "anxin.example.org",
    "DATABASE_URL": "postgis://anxin:secret@db.internal:5432/anxin",
    "REDIS_URL": "redis://redis.internal:6379",
    "ANXIN_NOTIFICATION_BACKEND": "backend.telephony.backends.FileBackend",
    "ANXIN_FIELD_KEYS": "pGmL2oBx1n3dJ0Yb7Fq9kz8H5cW4vT6sR2eU1aQ0iXo=",
    "ANXIN_LOOKUP_HASH_KEY": "kq3Zr8V1mT0pX6yW2cN9bH4sJ7dF5gL0aE1uR3oI8tY",
    "TWILIO_ACCOUNT_SID": "AC5ef8732a3c49700934481addd5ce1659",
    "TWILIO_AUTH_TOKEN": "9c1e3b5d7f2a4c6e8b0d1f3a5c7e9b2d",
    "TWILIO_FROM_NUMBER": "+8657112349",
    "ANXIN_PUBLIC_URL": "https://anxin.example.org",
}


# What a run's environment may carry into a fresh process (an xdist worker's name included, which
# test settings would name the queues from).
PREFIXES = (
    "DJANGO_",
    "DATABASE_",
    "REDIS_",
    "ANXIN_",
    "CELERY_",
    "CHANNELS_",
    "TWILIO_",
    "PYTEST_",
)


def _clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}


def manage(*args, env):
    clean = _clean_environment()
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def python(code: str, env):
    """`code` in a fresh interpreter, with none of this run's settings in its environment."""
    clean = _clean_environment()
    return subprocess.run(
        [sys.executable, "-c", code],
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
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM_NUMBER",
        "ANXIN_PUBLIC_URL",
    ):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}

        result = manage("check", env=env)

        assert result.returncode != 0, missing
        assert missing in result.stderr, result.stderr[-500:]


def test_production_refuses_a_development_secret():
    result = manage("check", env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "dev-only-not-secret"})

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TWILIO_AUTH_TOKEN", "dev-twilio-auth-token-not-secret"),  # local.py's
        ("TWILIO_AUTH_TOKEN", "test-twilio-auth-token-not-secret"),  # test.py's
        ("ANXIN_PUBLIC_URL", "http://anxin.example.org"),  # Twilio would sign in the clear
    ],
)
def test_production_refuses_development_telephony_settings(name, value):
    result = production_settings({**PRODUCTION_ENV, name: value})

    assert result.returncode != 0, value
    assert name in result.stderr, result.stderr[-500:]


def production_settings(env, show: str = "None"):
    """Load the production settings module alone (no Django set-up: fast) and print `show`."""
    return python(f"from backend.settings import production as s; print({show})", env=env)


@pytest.mark.parametrize(
    "key",
    [
        "dev-lookup-hash-key-not-secret",  # local.py's
        "test-lookup-hash-key-not-secret",  # test.py's
        "a-production-lookup-key",  # 23 characters: too short to be a secret
    ],
)
def test_production_refuses_a_development_or_short_lookup_hash_key(key):
    result = production_settings({**PRODUCTION_ENV, "ANXIN_LOOKUP_HASH_KEY": key})

    assert result.returncode != 0, key
    assert "ANXIN_LOOKUP_HASH_KEY" in result.stderr, result.stderr[-500:]


@pytest.mark.parametrize(
    "keys",
    [
        "Vf0OeB7VLUTNcI3-Q1-lSwF8B_hHzoseF3P-LUrv8yc=",  # local.py's
        "pGmL2oBx1n3dJ0Yb7Fq9kz8H5cW4vT6sR2eU1aQ0iXo=,1dK0hwwWBj3g0X_qKjnpS0IrXVl5XSHQ3S_ZoaxB-O4=",
        "a-passphrase-is-not-a-fernet-key",
    ],
)
def test_production_refuses_field_keys_that_are_development_keys_or_not_keys(keys):
    result = production_settings({**PRODUCTION_ENV, "ANXIN_FIELD_KEYS": keys})

    assert result.returncode != 0, keys
    assert "ANXIN_FIELD_KEYS" in result.stderr, result.stderr[-500:]


def test_production_accepts_its_own_keys():
    result = production_settings(PRODUCTION_ENV, show="len(s.ANXIN_FIELD_KEYS)")

    assert result.stdout.strip() == "1", result.stderr[-500:]


def test_production_trusts_x_forwarded_proto_only_when_told_a_proxy_sets_it():
    """Without a proxy that sets (and overwrites) the header, any client could claim https."""
    show = "s.SECURE_PROXY_SSL_HEADER"
    plain = production_settings(PRODUCTION_ENV, show=show)
    behind = production_settings(
        {**PRODUCTION_ENV, "DJANGO_TRUST_X_FORWARDED_PROTO": "true"}, show=show
    )

    assert plain.stdout.strip() == "None", plain.stdout + plain.stderr[-500:]
    assert behind.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')", behind.stderr[-500:]


@pytest.mark.parametrize("module", ["backend.asgi", "backend.celery"])
def test_a_server_or_worker_started_without_naming_its_settings_refuses_to_start(module):
    """The web server and Celery never fall back to development settings (DEBUG, public keys)."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SETTINGS_MODULE"}

    refused = python(f"import {module}", env=env)
    named = python(f"import {module}", env=PRODUCTION_ENV)

    assert refused.returncode != 0
    assert "DJANGO_SETTINGS_MODULE" in refused.stderr, refused.stderr[-500:]
    assert named.returncode == 0, named.stderr[-1000:]


def test_production_refuses_a_guessable_health_token():
    result = production_settings({**PRODUCTION_ENV, "ANXIN_HEALTH_TOKEN": "letmein"})

    assert result.returncode != 0
    assert "ANXIN_HEALTH_TOKEN" in result.stderr, result.stderr[-500:]


def test_development_tests_and_production_name_their_queues_apart():
    """A worker of one never takes another's tasks, even on a shared Redis."""
    show = "sorted(s.ANXIN_QUEUES.values())"
    names = {
        module: python(f"from backend.settings import {module} as s; print({show})", env=env)
        for module, env in [
            ("local", {"DJANGO_SETTINGS_MODULE": "backend.settings.local"}),
            ("test", {"DJANGO_SETTINGS_MODULE": "backend.settings.test"}),
            ("production", PRODUCTION_ENV),
        ]
    }

    queues = {module: set(ast.literal_eval(r.stdout)) for module, r in names.items()}
    assert queues["production"] == {f"anxin-prod-{lane}" for lane in LANES}
    assert queues["local"] == {f"anxin-{lane}" for lane in LANES}
    assert queues["test"] == {f"anxin-test-{lane}" for lane in LANES}


@pytest.mark.parametrize("base", ["anxin", "anxin-test", "anxin-test-queues"])
def test_production_refuses_a_development_or_test_queue_name(base):
    result = production_settings({**PRODUCTION_ENV, "CELERY_QUEUE": base})

    assert result.returncode != 0, base
    assert "CELERY_QUEUE" in result.stderr, result.stderr[-500:]


def test_production_takes_a_queue_name_of_its_own():
    result = production_settings(
        {**PRODUCTION_ENV, "CELERY_QUEUE": "anxin-city"}, show="s.ANXIN_QUEUES['urgent']"
    )

    assert result.stdout.strip() == "anxin-city-urgent", result.stderr[-500:]
