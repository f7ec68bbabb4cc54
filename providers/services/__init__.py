"""Writes of the provider registry, by part: organisations (registration, details, services,
status), changes (what a provider's admin proposes and a district administrator decides),
sanctions (sanctions, appeals, the credit record) and workers (accounts, shifts, positions,
jobs held, certificates)."""

from ._common import ProviderDataError
from .changes import (
    REVIEWED_FIELDS,
    SERVICE_PREFIX,
    WHERE_FIELDS,
    change_may_decide,
    provider_change_decide,
)
from .organisations import (
    provider_register,
    provider_service_set,
    provider_status_change,
    provider_update,
    provider_update_check,
)
from .sanctions import (
    appeal_decide,
    appeal_file,
    credit_event_record,
    sanction_impose,
    suspensions_expire,
)
from .workers import (
    certificate_add,
    certificates_expiry_notify,
    positions_sync,
    traces_purge,
    worker_create,
    worker_jobs_adjust,
    worker_position_record,
    worker_position_record_for_user,
    worker_rating_set,
    worker_shift_set,
    worker_update,
)

__all__ = [
    "REVIEWED_FIELDS",
    "SERVICE_PREFIX",
    "WHERE_FIELDS",
    "ProviderDataError",
    "appeal_decide",
    "appeal_file",
    "certificate_add",
    "certificates_expiry_notify",
    "change_may_decide",
    "credit_event_record",
    "positions_sync",
    "provider_change_decide",
    "provider_register",
    "provider_service_set",
    "provider_status_change",
    "provider_update",
    "provider_update_check",
    "sanction_impose",
    "suspensions_expire",
    "traces_purge",
    "worker_create",
    "worker_jobs_adjust",
    "worker_position_record",
    "worker_position_record_for_user",
    "worker_rating_set",
    "worker_shift_set",
    "worker_update",
]
