from celery import shared_task

from . import services


@shared_task(acks_late=True)
def providers_daily() -> dict[str, int]:
    """Certificate expiry notices, ended suspensions, old position traces. Safe to run often:
    each part does only what is still due."""
    return {
        "certificate_notices": services.certificates_expiry_notify(),
        "suspensions_ended": services.suspensions_expire(),
        "traces_purged": services.traces_purge(),
    }
