"""The Django project. Every server and worker names its settings: none falls back to the
development settings (DEBUG on, public keys) because DJANGO_SETTINGS_MODULE was left unset.
manage.py alone defaults to them, being the developer's tool (README, Settings)."""

import os

from django.core.exceptions import ImproperlyConfigured

if not os.environ.get("DJANGO_SETTINGS_MODULE"):
    raise ImproperlyConfigured(
        "DJANGO_SETTINGS_MODULE is not set: name the settings this process runs on "
        "(backend.settings.production in production, backend.settings.local in development)"
    )

from backend.celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
