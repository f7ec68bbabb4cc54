"""Production: no default for anything secret; missing or weak configuration stops the process."""

import os

# Queue names of its own (backend/core/queues.py), never development's or the tests': a worker of
# one would otherwise take the other's tasks (and run them on its own database) on a shared Redis.
os.environ.setdefault("CELERY_QUEUE", "anxin-prod")

from cryptography.fernet import Fernet  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from .base import *  # noqa: E402,F403
from .base import (  # noqa: E402
    ANXIN_FIELD_KEYS,
    ANXIN_HEALTH_TOKEN,
    ANXIN_LOOKUP_HASH_KEY,
    SECRET_KEY,
    env,
)

# The public keys local.py and test.py start with: data under them is readable by anyone.
DEVELOPMENT_KEYS = ("Vf0OeB7V", "1dK0hwwW", "dev-", "test-")
MIN_SECRET_CHARS = 32

if len(SECRET_KEY) < 50 or SECRET_KEY.startswith(DEVELOPMENT_KEYS):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be a long random secret in production")

for key in ANXIN_FIELD_KEYS:
    if key.startswith(DEVELOPMENT_KEYS):
        raise ImproperlyConfigured("ANXIN_FIELD_KEYS must not reuse a development or test key")
    try:
        Fernet(key.encode())
    except ValueError:
        raise ImproperlyConfigured(
            "ANXIN_FIELD_KEYS must be Fernet keys (32 random bytes, url-safe base64): make one "
            'with python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key())"'
        ) from None

# The blind index of ID numbers: whoever knows this key can test guesses against every hash.
if len(ANXIN_LOOKUP_HASH_KEY) < MIN_SECRET_CHARS or ANXIN_LOOKUP_HASH_KEY.startswith(
    DEVELOPMENT_KEYS
):
    raise ImproperlyConfigured(
        f"ANXIN_LOOKUP_HASH_KEY must be a random secret of at least {MIN_SECRET_CHARS} "
        "characters in production, not a development or test key"
    )

if ANXIN_HEALTH_TOKEN and len(ANXIN_HEALTH_TOKEN) < MIN_SECRET_CHARS:
    raise ImproperlyConfigured(
        f"ANXIN_HEALTH_TOKEN, when set, must be a random secret of at least {MIN_SECRET_CHARS} "
        "characters"
    )

queue_base = env.str("CELERY_QUEUE")
if queue_base == "anxin" or queue_base.startswith("anxin-test"):
    raise ImproperlyConfigured(
        f"CELERY_QUEUE={queue_base!r} is development's or the tests' queue name: production "
        "needs its own (default anxin-prod)"
    )

DEBUG = False
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Only behind a proxy of ours that sets (overwrites) X-Forwarded-Proto; otherwise any client
# could claim https. Without it, a proxy that ends TLS would get SECURE_SSL_REDIRECT's
# redirect for ever: set DJANGO_TRUST_X_FORWARDED_PROTO=true there.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env.bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=False)
    else None
)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
NOTIFICATION_BACKEND = env.str("ANXIN_NOTIFICATION_BACKEND")
# Required in production, no defaults: without them no SMS leaves and every webhook is refused.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER")
ANXIN_PUBLIC_URL = env.str("ANXIN_PUBLIC_URL").rstrip("/")
if TWILIO_AUTH_TOKEN.startswith(DEVELOPMENT_KEYS):
    raise ImproperlyConfigured("TWILIO_AUTH_TOKEN must not be a development token")
if not ANXIN_PUBLIC_URL.startswith("https://"):
    raise ImproperlyConfigured("ANXIN_PUBLIC_URL must be the https:// address Twilio calls")
