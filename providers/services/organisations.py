"""Organisations: registration, details, services and status."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.core.errors import StateConflict

from ..models import (
    Provider,
    ProviderChange,
    ProviderStatus,
)
from ..transitions import PROVIDER_TRANSITIONS
from ._common import ProviderDataError, _credit_code, _record
from .changes import (
    REVIEWED_FIELDS,
    SERVICE_PREFIX,
    _change_submit,
    _changes_check,
    _diffs,
    _encode,
    _service_encode,
    _where_check,
)

# Organisations -----------------------------------------------------------------------------


def provider_register(
    *, actor: User, district_id: int, credit_code: str = "", **fields: Any
) -> Provider:
    """A new organisation waits for a district administrator's review (of where it serves,
    too: within its district, as every later change)."""
    provider = Provider(district_id=district_id, status=ProviderStatus.PENDING, **fields)
    provider.credit_code = _credit_code(credit_code)
    _where_check(provider, {"service_area": {"to": _encode(provider.service_area)}})
    try:
        with transaction.atomic():
            provider.save()
            if actor.role == Role.PROVIDER_ADMIN:
                provider.admins.add(actor)
            _record(provider, "provider.registered", actor, after=provider.status)
    except IntegrityError:
        raise ProviderDataError({"credit_code": [_("already registered")]}) from None
    return provider


def provider_update(
    *, provider: Provider, actor: User, reason: str = "", **fields: Any
) -> tuple[Provider, ProviderChange | None]:
    """Change an organisation's details. Where it serves and its credit code
    (`REVIEWED_FIELDS`) go through `_change_submit`: a district administrator's edit takes
    effect at once as an approved change, its own admin's waits for one as a pending change
    (returned). Everything else takes effect at once."""
    reviewed = {name: fields.pop(name) for name in REVIEWED_FIELDS if name in fields}
    try:
        with transaction.atomic():
            provider = Provider.objects.select_for_update().get(pk=provider.pk)
            if fields:
                for name, value in fields.items():
                    setattr(provider, name, value)
                provider.save(update_fields=sorted(fields))
                _record(provider, "provider.updated", actor, data={"fields": sorted(fields)})
            change = _change_submit(provider, actor, _diffs(provider, reviewed), reason=reason)
    except IntegrityError:
        raise ProviderDataError({"credit_code": [_("already registered")]}) from None
    return provider, change


def provider_update_check(*, provider: Provider, **fields: Any) -> None:
    """Raise what `provider_update` would refuse of these fields, writing nothing (for forms)."""
    reviewed = {name: value for name, value in fields.items() if name in REVIEWED_FIELDS}
    diffs = _diffs(provider, reviewed)
    _changes_check(provider, {key: {"from": a, "to": b} for key, (a, b) in diffs.items() if a != b})


def provider_service_set(
    *,
    provider: Provider,
    actor: User,
    service_code: str,
    price: Decimal,
    unit: str,
    subsidised: bool | None = None,
    reason: str = "",
) -> ProviderChange | None:
    """Offer a service at a price, or change its price, unit or subsidy flag (None keeps it; a
    new service starts unsubsidised): a change like the reviewed fields of `provider_update`
    (None when nothing would change)."""
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider.pk)
        current = provider.services.filter(service_code=service_code).first()
        if subsidised is None:
            subsidised = current.subsidised if current else False
        after = {"price": f"{price:.2f}", "unit": unit, "subsidised": subsidised}
        return _change_submit(
            provider,
            actor,
            {f"{SERVICE_PREFIX}{service_code}": (_service_encode(current), after)},
            reason=reason,
        )


def provider_status_change(
    *,
    provider_id: int,
    event: str,
    actor: User | None,
    reason: str,
    suspended_until: date | None = None,
) -> Provider:
    """The one place a provider's status changes: lock, check the table, save, audit."""
    if not reason.strip():
        raise ProviderDataError({"reason": [_("a status change needs a reason")]})
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider_id)
        before = provider.status
        after = PROVIDER_TRANSITIONS.get((before, event))
        if after is None:
            raise StateConflict(
                _("Cannot %(event)s a provider that is %(state)s.")
                % {"event": event, "state": before},
                current_state=before,
                code="provider_state_conflict",
            )
        provider.status, provider.status_reason = after, reason.strip()[:300]
        provider.suspended_until = suspended_until if after == ProviderStatus.SUSPENDED else None
        provider.save(update_fields=["status", "status_reason", "suspended_until"])
        _record(
            provider,
            f"provider.{after}",
            actor,
            before=before,
            after=after,
            data={"event": event, "reason": provider.status_reason},
        )
    return provider
