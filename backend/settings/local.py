"""Development: safe defaults so `deploy/up` runs with no configuration."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "dev-only-not-secret-long-enough-for-hmac-sha256")
# Fixed, public keys for development and tests only; production refuses them.
os.environ.setdefault("ANXIN_FIELD_KEYS", "Vf0OeB7VLUTNcI3-Q1-lSwF8B_hHzoseF3P-LUrv8yc=")
os.environ.setdefault("ANXIN_LOOKUP_HASH_KEY", "dev-lookup-hash-key-not-secret")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379")
os.environ.setdefault("DATABASE_URL", "postgis://anxin:anxin@127.0.0.1:5432/anxin")
os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("CELERY_QUEUE", "anxin")
# Twilio in development: no account, so nothing is sent (the file backend records every SMS and
# call in var/outbox.jsonl), but the webhooks work: sign requests to
# http://localhost:8000/hooks/twilio/... with this public, development-only token.
os.environ.setdefault("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000000")
os.environ.setdefault("TWILIO_AUTH_TOKEN", "dev-twilio-auth-token-not-secret")
os.environ.setdefault("TWILIO_FROM_NUMBER", "+8643112349")
os.environ.setdefault("ANXIN_PUBLIC_URL", "http://localhost:8000")

from .base import *  # noqa: E402,F403

# Serve the admin's and the API docs' static files straight from the apps, no collectstatic.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None  # type: ignore[assignment]  # nothing is collected outside production
WHITENOISE_AUTOREFRESH = True
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
