"""The one place work orders, offers and visits change state, and the helpers every
write shares. The caller holds the work order's row lock (always taken first, then offers,
then the worker); the table is checked, the row saved, the event written, and side effects
leave after commit."""

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import (
    NotAllowed,
    NotFound,
    RuleViolation,
    StateConflict,
    require_code,
)
from backend.core.events import event_record
from elders.selectors import elder_family_users
from elders.services import access_grant_issue
from providers.models import Worker
from providers.selectors import provider_admin_ids, provider_admin_users, worker_user
from providers.services import credit_event_record, worker_jobs_adjust

from ..escalation import alerts_end_with_request
from ..models import (
    OUTCOMES_BY_EVENT,
    JobOffer,
    Outcome,
    Priority,
    RequestState,
    ServiceRequest,
    Visit,
)
from ..selectors import grant_reference
from ..transitions import (
    OFFER_TRANSITIONS,
    REQUEST_TRANSITIONS,
    VISIT_TRANSITIONS,
    actor_kind,
    next_state,
)


class RequestNotFound(NotFound):
    """404: no such work order, or not one the caller may act on."""


log = structlog.get_logger(__name__)

# A countdown longer than this would outlive the broker's visibility timeout (and be delivered
# twice); the sweeper starts such work instead.
MAX_COUNTDOWN_S = settings.CELERY_BROKER_VISIBILITY_S - 60


def _knobs() -> dict[str, Any]:
    return settings.ANXIN


def _request_recipients(sr: ServiceRequest) -> list[int]:
    """Who is told of a change to the work order beside the district's staff: the elder's
    family, and once it is assigned, its worker and its provider's admins. One query, read once
    per locked work order and assignment (a transaction that moves the order twice, as matching
    does, asks once)."""
    key = (sr.elder_id, sr.assigned_worker_id, sr.assigned_provider_id)
    known = sr.__dict__.get("_recipients")
    if known is not None and known[0] == key:
        return list(known[1])
    parts: list[QuerySet[Any, int]] = [elder_family_users(elder_id=sr.elder_id)]
    if sr.assigned_worker_id:
        parts.append(worker_user(worker_id=sr.assigned_worker_id))
    if sr.assigned_provider_id:
        parts.append(provider_admin_users(provider_id=sr.assigned_provider_id))
    first, *rest = (part.order_by() for part in parts)
    users = list(first.union(*rest, all=True)) if rest else list(first)
    sr.__dict__["_recipients"] = (key, users)
    return list(users)


def _request_move(
    sr: ServiceRequest,
    event: str,
    *,
    actor: User | None,
    by: str | None = None,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """Precondition: the caller holds `select_for_update` on `sr`.

    `by` names the column of the table when the change is a consequence the system draws
    from someone's act (a decline moves the work on: the worker declined, the system rematches).
    """
    before = sr.state
    found = next_state(REQUEST_TRANSITIONS, before, event)
    if found is None:
        raise StateConflict(
            _("Cannot %(event)s a request that is %(state)s.")
            % {"event": event.replace("_", " "), "state": before},
            current_state=before,
            code="request_state_conflict",
        )
    after, who = found
    if (by or actor_kind(actor)) not in who:
        raise NotAllowed(
            _("Your role may not %(event)s a request.") % {"event": event.replace("_", " ")}
        )
    if after in ENDED_STATES:
        fields.update(_ending(sr, event, actor, fields))
    sr.state = after
    sr.state_changed_at = timezone.now()
    for name, value in fields.items():
        setattr(sr, name, value)
    sr.save(update_fields=["state", "state_changed_at", *fields])
    event_record(
        kind=f"request.{after}",
        subject_type="request",
        subject_id=sr.pk,
        actor=actor,
        before=before,
        after=after,
        district_id=sr.district_id,
        recipients=_request_recipients(sr),
        data={"reference": sr.reference, "event": event, **(data or {})},
    )
    if after in ENDED_STATES:
        alerts_end_with_request(sr, actor=actor)


ENDED_STATES = frozenset({RequestState.CLOSED, RequestState.FAILED, RequestState.CANCELLED})


def _ending(
    sr: ServiceRequest, event: str, actor: User | None, fields: dict[str, Any]
) -> dict[str, Any]:
    """How a work order ends: the outcome code must suit the way it ends, and the person who
    ended it answers for it. An emergency cannot end without both (the database refuses too)."""
    outcome = fields.get("outcome") or sr.outcome
    if outcome:
        require_code(
            outcome,
            OUTCOMES_BY_EVENT[event],
            field="outcome",
            message=_("A request cannot %(event)s with the outcome %(outcome)s.")
            % {"event": event, "outcome": outcome},
            code="outcome_not_allowed",
        )
    if sr.priority == Priority.EMERGENCY and (actor is None or not outcome):
        raise RuleViolation(
            _("An emergency ends only with the person who answers for it and an outcome code."),
            code="emergency_outcome_required",
            current_state=sr.state,
            fields={"outcome": [_("required to end an emergency")]},
        )
    if event == "close" and not outcome:
        outcome = Outcome.SERVED
    return {"outcome": outcome, "responsible": actor}


def _offer_move(
    offer: JobOffer,
    event: str,
    *,
    actor: User | None,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """Precondition: the caller holds the lock on the offer's work order."""
    before = offer.state
    after = next_state(OFFER_TRANSITIONS, before, event)
    if after is None:
        raise StateConflict(
            _("Cannot %(event)s an offer that is %(state)s.") % {"event": event, "state": before},
            current_state=before,
            code="offer_state_conflict",
        )
    offer.state = after
    offer.responded_at = timezone.now()
    for name, value in fields.items():
        setattr(offer, name, value)
    offer.save(update_fields=["state", "responded_at", *fields])
    event_record(
        kind=f"offer.{after}",
        subject_type="offer",
        subject_id=offer.pk,
        actor=actor,
        before=before,
        after=after,
        district_id=offer.request.district_id,
        recipients=_offer_recipients(offer),
        data={"request": offer.request_id, **(data or {})},
    )


def _offer_recipients(offer: JobOffer) -> list[int]:
    if offer.worker is not None:
        return [offer.worker.user_id]
    return provider_admin_ids(provider_id=offer.provider_id)


def _visit_move(visit: Visit, event: str, **fields: Any) -> None:
    after = next_state(VISIT_TRANSITIONS, visit.state, event)
    if after is None:
        raise StateConflict(
            _("Cannot %(event)s a visit that is %(state)s.")
            % {"event": event, "state": visit.state},
            current_state=visit.state,
            code="visit_state_conflict",
        )
    visit.state = after
    for name, value in fields.items():
        setattr(visit, name, value)
    visit.save(update_fields=["state", *fields])


def _lock_request(
    request_id: int, *, skip_locked: bool = False, with_worker: bool = False
) -> ServiceRequest | None:
    """The work order, locked; None if it does not exist or (skip_locked) another holds it.
    `with_worker` reads its assigned worker in the same query (not locked)."""
    related = ("service_type", "assigned_worker") if with_worker else ("service_type",)
    return (
        ServiceRequest.objects.select_for_update(skip_locked=skip_locked, of=("self",))
        .select_related(*related)
        .filter(pk=request_id)
        .first()
    )


def _lock(request_id: int) -> ServiceRequest:
    """The work order, locked (waiting for whoever holds it); 404 if there is none."""
    sr = _lock_request(request_id)
    if sr is None:
        raise RequestNotFound(_("No such request."))
    return sr


def _lock_assigned(request_id: int, user: User) -> tuple[ServiceRequest, Worker]:
    """The work order, locked, and its worker, if `user` is the worker assigned to it; 404
    otherwise."""
    sr = _lock_request(request_id, with_worker=True)
    worker = sr.assigned_worker if sr is not None else None
    if sr is None or worker is None or worker.user_id != user.pk:
        raise RequestNotFound(_("No such request among your jobs."))
    return sr, worker


# Intake ---------------------------------------------------------------------------------------


def _display_tz() -> ZoneInfo:
    return ZoneInfo(settings.DISPLAY_TIME_ZONE)


def _take_job(worker: Worker, *, current_state: str) -> None:
    """Count the job on the worker; a worker at capacity is refused (the check constraint).

    Precondition: inside the atomic block of the service that takes the job (accept,
    assignment, override). No savepoint of its own: the refusal ends that block, whose savepoint
    (or transaction) is what a caller who goes on after a refusal rolls back to."""
    try:
        with transaction.atomic(savepoint=False):
            worker_jobs_adjust(worker_id=worker.pk, delta=+1)
    except IntegrityError:
        raise StateConflict(
            _("The worker already holds as many jobs as they can take."),
            current_state=current_state,
            code="worker_at_capacity",
        ) from None


def _grant(sr: ServiceRequest, user_id: int) -> None:
    access_grant_issue(
        elder_id=sr.elder_id,
        user_id=user_id,
        reference=_grant_reference(sr),
        purpose=f"{sr.service_type.name} job {sr.reference}",
        expires_at=sr.window_end + timedelta(hours=_knobs()["GRANT_SLACK_H"]),
    )


def _grant_reference(sr: ServiceRequest) -> str:
    return grant_reference(sr.pk)


def _credit(worker_id: int, kind: str, reference: str) -> None:
    provider_id = Worker.objects.values_list("provider_id", flat=True).get(pk=worker_id)
    credit_event_record(
        provider_id=provider_id,
        worker_id=worker_id,
        kind=kind,
        reference=reference,
    )
