"""Change requests (变更申请): what a provider's own admin proposes and a district
administrator decides before it takes effect."""

import json
from decimal import Decimal
from typing import Any

from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import District, Role, User
from backend.core.errors import NotAllowed, NotFound, RuleViolation, StateConflict

from ..models import (
    ChangeState,
    Provider,
    ProviderChange,
    ProviderService,
)
from ._common import ProviderDataError, _credit_code, _record

# Change requests (变更申请) ----------------------------------------------------------------

# What a provider's own admin cannot change alone: where it serves (an area, or a radius around
# its base, brings that place's jobs and elders' data to it) and its legal identity; and each
# service's price, unit and subsidy flag, under `service:<code>`.
WHERE_FIELDS = ("service_area", "base_location", "service_radius_m")
REVIEWED_FIELDS = (*WHERE_FIELDS, "credit_code")
SERVICE_PREFIX = "service:"


def _encode(value: Any) -> Any:
    """A field's value as a change records it (GeoJSON for geometries)."""
    if isinstance(value, Polygon):
        value = MultiPolygon(value, srid=4326)
    if isinstance(value, (Point, MultiPolygon)):
        return json.loads(value.json)
    return value


def _decode(name: str, value: Any) -> Any:
    if value is None or name not in ("service_area", "base_location"):
        return value
    if value["type"] == "Point":
        lng, lat = value["coordinates"]
        return Point(lng, lat, srid=4326)
    return MultiPolygon(*(Polygon(*rings) for rings in value["coordinates"]), srid=4326)


def _service_encode(service: ProviderService | None) -> dict[str, Any] | None:
    if service is None:
        return None
    return {"price": f"{service.price:.2f}", "unit": service.unit, "subsidised": service.subsidised}


def _current(provider: Provider, key: str) -> Any:
    if key.startswith(SERVICE_PREFIX):
        code = key.removeprefix(SERVICE_PREFIX)
        return _service_encode(provider.services.filter(service_code=code).first())
    return _encode(getattr(provider, key))


def _diffs(provider: Provider, reviewed: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Reviewed fields as encoded (on file, asked for) pairs; a credit code normalised first."""
    if "credit_code" in reviewed:
        reviewed = {**reviewed, "credit_code": _credit_code(reviewed["credit_code"])}
    return {
        name: (_encode(getattr(provider, name)), _encode(value)) for name, value in reviewed.items()
    }


def change_may_decide(*, actor: User, provider: Provider) -> bool:
    """Whether the actor's changes of this provider take effect at once, and whether they may
    approve or reject its admins' changes: a district administrator of its district."""
    return actor.role == Role.DISTRICT_ADMIN and actor.district_id == provider.district_id


def _where_check(provider: Provider, changes: dict[str, dict[str, Any]]) -> None:
    """A service area lies within the provider's district's boundary, when the district has
    one; 422 `outside_district` naming `service_area`. (A radius around the base is not held
    to the boundary: a circle near the edge always crosses it. It is reviewed by a person.)"""
    area = _decode("service_area", changes.get("service_area", {}).get("to"))
    if area is None:
        return
    boundary = (
        District.objects.filter(pk=provider.district_id).values_list("boundary", flat=True).get()
    )
    if boundary is not None and not boundary.covers(area):
        raise RuleViolation(
            _("A provider's service area lies within its own district."),
            code="outside_district",
            fields={"service_area": [_("reaches outside the district's boundary")]},
        )


def _changes_check(provider: Provider, changes: dict[str, dict[str, Any]]) -> None:
    _where_check(provider, changes)
    code = changes.get("credit_code", {}).get("to")
    if code and Provider.objects.filter(credit_code=code).exclude(pk=provider.pk).exists():
        raise ProviderDataError({"credit_code": [_("already registered")]})


def _change_apply(provider: Provider, change: ProviderChange) -> None:
    """Precondition: the caller holds the provider's row lock."""
    fields = [name for name in REVIEWED_FIELDS if name in change.changes]
    for name in fields:
        setattr(provider, name, _decode(name, change.changes[name]["to"]))
    if fields:
        provider.save(update_fields=fields)
    for key, diff in change.changes.items():
        if not key.startswith(SERVICE_PREFIX):
            continue
        after = diff["to"]
        ProviderService.objects.update_or_create(
            provider=provider,
            service_code=key.removeprefix(SERVICE_PREFIX),
            defaults={
                "price": Decimal(after["price"]),
                "unit": after["unit"],
                "subsidised": after["subsidised"],
            },
        )


def _change_submit(
    provider: Provider, actor: User, diffs: dict[str, tuple[Any, Any]], *, reason: str
) -> ProviderChange | None:
    """Record a change of reviewed fields (as encoded (before, after) pairs; unchanged ones
    dropped): applied at once and approved when a district administrator of the provider's
    district makes it, else pending for one. It replaces any pending change of the same fields
    (superseded, kept in the history). None when nothing would change.

    Precondition: the caller holds the provider's row lock."""
    changes = {key: {"from": old, "to": new} for key, (old, new) in diffs.items() if old != new}
    if not changes:
        return None
    direct = change_may_decide(actor=actor, provider=provider)
    if not direct and not provider.admins.filter(pk=actor.pk).exists():
        raise NotAllowed(
            _("Only the provider's admins or its district administrators change this.")
        )
    _changes_check(provider, changes)
    now = timezone.now()
    change = ProviderChange.objects.create(
        provider=provider,
        changes=changes,
        reason=reason.strip()[:300],
        requested_by=actor,
        state=ChangeState.APPROVED if direct else ChangeState.PENDING,
        decided_by=actor if direct else None,
        decided_at=now if direct else None,
        decision_note="edited by a district administrator" if direct else "",
    )
    for earlier in ProviderChange.objects.filter(provider=provider, state=ChangeState.PENDING):
        if earlier.pk != change.pk and set(earlier.changes) & set(changes):
            earlier.state, earlier.decided_at = ChangeState.SUPERSEDED, now
            earlier.decision_note = f"replaced by change {change.pk}"
            earlier.save(update_fields=["state", "decided_at", "decision_note"])
            _record(
                provider,
                "provider.change_superseded",
                actor,
                data={"change": earlier.pk, "by": change.pk},
            )
    if direct:
        _change_apply(provider, change)
    _record(
        provider,
        f"provider.change_{'approved' if direct else 'requested'}",
        actor,
        data={"change": change.pk, "fields": sorted(changes), "direct": direct},
    )
    return change


def provider_change_decide(
    *, change_id: int, actor: User, approve: bool, note: str
) -> ProviderChange:
    """A district administrator of the provider's district approves (the change takes effect,
    checked again against the district's boundary and what is on file now) or rejects a pending
    change, saying why."""
    provider_id = (
        ProviderChange.objects.filter(pk=change_id).values_list("provider_id", flat=True).first()
    )
    if provider_id is None:
        raise NotFound(_("No such change."))
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider_id)
        change = ProviderChange.objects.select_for_update().get(pk=change_id)
        if not change_may_decide(actor=actor, provider=provider):
            raise NotAllowed(_("Only a district administrator of the provider's district decides."))
        if change.state != ChangeState.PENDING:
            raise StateConflict(
                _("This change is already %(state)s.") % {"state": change.state},
                current_state=change.state,
                code="change_decided",
            )
        if approve:
            stale = sorted(
                key
                for key, diff in change.changes.items()
                if _current(provider, key) != diff["from"]
            )
            if stale:
                raise StateConflict(
                    _("What this change starts from is no longer on file: reject it."),
                    current_state=change.state,
                    code="change_stale",
                    fields={key: [_("changed since the request")] for key in stale},
                )
            _changes_check(provider, change.changes)
        change.state = ChangeState.APPROVED if approve else ChangeState.REJECTED
        change.decided_by, change.decided_at = actor, timezone.now()
        change.decision_note = note.strip()[:300]
        change.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
        if approve:
            try:
                _change_apply(provider, change)
            except IntegrityError:  # a code registered since the check; all of it rolls back
                raise ProviderDataError({"credit_code": [_("already registered")]}) from None
        _record(
            provider,
            f"provider.change_{change.state}",
            actor,
            data={
                "change": change.pk,
                "fields": sorted(change.changes),
                "note": change.decision_note,
            },
        )
    return change
