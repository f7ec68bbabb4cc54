"""Sanctions, appeals and the credit record."""

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import StateConflict

from ..models import (
    Appeal,
    AppealState,
    CreditEvent,
    Provider,
    ProviderStatus,
    Sanction,
    SanctionKind,
    Worker,
)
from ..transitions import CREDIT_DELTAS, CREDIT_MAX, CREDIT_MIN
from ._common import _record
from .organisations import provider_status_change

# Sanctions and appeals ---------------------------------------------------------------------


def sanction_impose(
    *, provider_id: int, kind: str, reason: str, actor: User, until: date | None = None
) -> Sanction:
    with transaction.atomic():
        if kind == SanctionKind.SUSPENSION:
            provider_status_change(
                provider_id=provider_id,
                event="suspend",
                actor=actor,
                reason=reason,
                suspended_until=until,
            )
        elif kind == SanctionKind.BLACKLIST:
            provider_status_change(
                provider_id=provider_id, event="blacklist", actor=actor, reason=reason
            )
        sanction = Sanction.objects.create(
            provider_id=provider_id, kind=kind, reason=reason, decided_by=actor, until=until
        )
        provider = Provider.objects.get(pk=provider_id)
        _record(
            provider,
            "provider.sanctioned",
            actor,
            data={"sanction": sanction.pk, "kind": kind, "reason": reason},
        )
    return sanction


def appeal_file(*, sanction: Sanction, actor: User, grounds: str) -> Appeal:
    if sanction.lifted_at:
        raise StateConflict(
            _("This sanction was already lifted."),
            current_state="lifted",
            code="sanction_lifted",
        )
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(sanction=sanction, filed_by=actor, grounds=grounds)
            _record(
                sanction.provider,
                "provider.appeal_filed",
                actor,
                data={"appeal": appeal.pk, "sanction": sanction.pk},
            )
    except IntegrityError:
        raise StateConflict(
            _("An appeal of this sanction is already open."),
            current_state="open",
            code="appeal_open",
        ) from None
    return appeal


def appeal_decide(*, appeal_id: int, actor: User, grant: bool, note: str) -> Appeal:
    """A district administrator decides; granting lifts the sanction and restores the
    provider if the sanction was what took it out of service."""
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().select_related("sanction").get(pk=appeal_id)
        if appeal.state != AppealState.OPEN:
            raise StateConflict(
                _("This appeal is already %(state)s.") % {"state": appeal.state},
                current_state=appeal.state,
                code="appeal_decided",
            )
        appeal.state = AppealState.GRANTED if grant else AppealState.REJECTED
        appeal.decided_by, appeal.decision_note = actor, note
        appeal.decided_at = timezone.now()
        appeal.save()
        sanction = appeal.sanction
        if grant:
            sanction.lifted_at = timezone.now()
            sanction.save(update_fields=["lifted_at"])
            if sanction.kind in (SanctionKind.SUSPENSION, SanctionKind.BLACKLIST):
                provider = Provider.objects.get(pk=sanction.provider_id)
                if provider.status in (ProviderStatus.SUSPENDED, ProviderStatus.BLACKLISTED):
                    provider_status_change(
                        provider_id=provider.pk,
                        event="reinstate",
                        actor=actor,
                        reason=f"appeal granted: {note}",
                    )
        _record(
            sanction.provider,
            f"provider.appeal_{appeal.state}",
            actor,
            data={"appeal": appeal.pk, "note": note},
        )
    return appeal


def suspensions_expire(*, today: date | None = None) -> int:
    """Reinstate providers whose suspension has run its time (daily job)."""
    today = today or timezone.localdate()
    ids = Provider.objects.filter(
        status=ProviderStatus.SUSPENDED, suspended_until__lt=today
    ).values_list("pk", flat=True)
    for provider_id in ids:
        provider_status_change(
            provider_id=provider_id, event="reinstate", actor=None, reason="suspension period ended"
        )
    return len(ids)


# Credit record -----------------------------------------------------------------------------


def credit_event_record(
    *, provider_id: int, kind: str, reference: str, worker_id: int | None = None, note: str = ""
) -> CreditEvent | None:
    """Record a fact once (by provider, kind and reference) and move the scores.

    Dispatch calls this after a verified visit, a late arrival, a no-show or a decided
    complaint. Returns None when the same fact was already recorded.
    """
    delta = Decimal(str(CREDIT_DELTAS[kind]))
    try:
        with transaction.atomic():
            event = CreditEvent.objects.create(
                provider_id=provider_id,
                worker_id=worker_id,
                kind=kind,
                delta=delta,
                reference=reference,
                note=note,
            )
    except IntegrityError:
        return None
    bounded = Least(Greatest(F("credit_score") + delta, CREDIT_MIN), CREDIT_MAX)
    Provider.objects.filter(pk=provider_id).update(credit_score=bounded)
    if worker_id:
        Worker.objects.filter(pk=worker_id).update(credit_score=bounded)
    return event
