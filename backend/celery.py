from celery import Celery

# DJANGO_SETTINGS_MODULE is required, never defaulted (backend/__init__.py).
app = Celery("anxin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
