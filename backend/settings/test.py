"""Tests: real PostGIS, Redis and Celery, on their own Redis databases and queue, so a running
development worker never takes a test's tasks."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret-long-enough-for-hmac-sha256")
# Fixed, public keys for development and tests only; production refuses them.
os.environ.setdefault("ANXIN_FIELD_KEYS", "1dK0hwwWBj3g0X_qKjnpS0IrXVl5XSHQ3S_ZoaxB-O4=")
os.environ.setdefault("ANXIN_LOOKUP_HASH_KEY", "test-lookup-hash-key-not-secret")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379")
os.environ.setdefault("DATABASE_URL", "postgis://anxin:anxin@127.0.0.1:5432/anxin")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("REDIS_DB_CHANNELS", "2")
os.environ.setdefault("REDIS_DB_CELERY", "3")
# The tests' broker is the Redis database above, whatever a developer's shell exports (the
# tests read its queues as Redis lists, and the workers they start inherit this environment).
os.environ.pop("CELERY_BROKER_URL", None)
# One sweep of each kind, as the tests expect (tests/alarms/test_sweep_shards.py splits them).
os.environ.pop("ANXIN_ALARM_SWEEP_SHARDS", None)
os.environ.pop("ANXIN_DEVICE_APPLY_SHARDS", None)
os.environ.setdefault("CELERY_QUEUE", "anxin-test")
os.environ.setdefault("CHANNELS_PREFIX", "anxin-test")
# The cache's Redis database is shared with other test runs: each run keeps to its own key
# prefix, and tests/conftest.py clears only that prefix between tests.
os.environ.setdefault("REDIS_DB_CACHE", "5")
os.environ.setdefault("CACHE_KEY_PREFIX", f"anxin-test-{os.getpid()}")
os.environ.setdefault("ANXIN_NOTIFICATION_BACKEND", "backend.telephony.backends.RecordingBackend")
os.environ.setdefault("TWILIO_ACCOUNT_SID", "AC11111111111111111111111111111111")
os.environ.setdefault("TWILIO_AUTH_TOKEN", "test-twilio-auth-token-not-secret")
os.environ.setdefault("TWILIO_FROM_NUMBER", "+8657112349")
os.environ.setdefault("ANXIN_PUBLIC_URL", "https://anxin.test")
# No quiet hours unless a test sets them: a test's SMS must not wait because CI runs at night.
os.environ.setdefault("ANXIN_QUIET_HOURS", "")
# Under pytest-xdist (deploy/test) each worker process is a test run of its own, on its own
# database (pytest-django names it): its queues, channel groups and cache keys are its own too.
# The processes a worker starts inherit these already named, and keep them.
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
for _name in ("CELERY_QUEUE", "CHANNELS_PREFIX", "CACHE_KEY_PREFIX"):
    if _xdist_worker and not os.environ[_name].endswith(f"-{_xdist_worker}"):
        os.environ[_name] = f"{os.environ[_name]}-{_xdist_worker}"
# A test run logs at DEBUG into a directory of its own (its servers and workers too, through the
# environment they inherit), and tests/log_audit.py audits it at the end: no phone number and no
# ID number may appear in any line.
os.environ.setdefault("ANXIN_LOG_LEVEL", "DEBUG")
os.environ.setdefault(
    "ANXIN_LOG_DIR",
    os.path.abspath(
        os.path.join(
            os.path.dirname(__file__), "..", "..", "var", "test-logs", f"run-{os.getpid()}"
        )
    ),
)

from .base import *  # noqa: E402,F403
from .base import env  # noqa: E402

# Unit tests run tasks inline; end-to-end tests start a real worker, which sets this to false.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_USE_FINDERS = True
# Files are looked up when asked for, not listed when the middleware is built: every test client
# builds the middleware again, and listing the ~250 static files cost each one about 0.1 s.
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT = None  # type: ignore[assignment]  # nothing is collected outside production
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
