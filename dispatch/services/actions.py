"""What operators and the sweeper do to a work order after intake: cancel, override,
close, fail, and no-shows."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from backend.accounts.models import User
from backend.core.errors import StateConflict
from backend.core.events import event_record
from elders.services import access_grant_revoke
from providers.models import Worker
from providers.services import worker_jobs_adjust

from ..escalation import alert_raise
from ..models import (
    NOT_ARRIVED_STATES,
    UNACCEPTED_STATES,
    JobOffer,
    OfferState,
    Outcome,
    Priority,
    RequestState,
    ServiceRequest,
)
from ._core import (
    RequestNotFound,
    _credit,
    _grant,
    _grant_reference,
    _knobs,
    _lock,
    _lock_assigned,
    _lock_request,
    _offer_move,
    _request_move,
    _take_job,
)
from .intake import _escalate, _offer_next, ranked_candidates


def request_no_show(*, request_id: int) -> bool:
    """Nobody checked in by the end of the window: free the worker, put it on the credit
    record, alert the operators, and offer the job again. Does nothing (False) if they arrived
    or someone else holds the work order."""
    with transaction.atomic():
        sr = _lock_request(request_id, skip_locked=True)
        if sr is None or sr.state not in (RequestState.ASSIGNED, RequestState.EN_ROUTE):
            return False
        if sr.window_end > timezone.now() or sr.assigned_worker_id is None:
            return False
        worker_id = sr.assigned_worker_id
        _credit(worker_id, "no_show", f"request:{sr.pk}")
        worker_jobs_adjust(worker_id=worker_id, delta=-1)
        access_grant_revoke(reference=_grant_reference(sr))
        _request_move(
            sr,
            "no_show",
            actor=None,
            assigned_worker=None,
            assigned_provider=None,
            offer_rounds=0,
            data={"worker": worker_id},
        )
        alert_raise(sr, "non_arrival", data={"worker": worker_id})
        _offer_next(sr, actor=None)
        return True


def request_set_out(*, request_id: int, user: User) -> ServiceRequest:
    """The assigned worker is on the way (the family and operators see it)."""
    with transaction.atomic():
        sr, _ = _lock_assigned(request_id, user)
        _request_move(sr, "set_out", actor=user)
        return sr


def request_close(
    *, request_id: int, actor: User | None, outcome: str = "", note: str = ""
) -> ServiceRequest:
    """After the visit: by follow-up, by the sweeper after CLOSE_AFTER_H, or by an operator
    (an emergency only so, with its outcome)."""
    return _end(request_id, "close", actor=actor, outcome=outcome, note=note)


def request_fail(
    *, request_id: int, actor: User | None, outcome: str, note: str = ""
) -> ServiceRequest:
    """Nobody could be found: the request ends with an outcome code and who decided it."""
    return _end(request_id, "fail", actor=actor, outcome=outcome, note=note)


def _end(
    request_id: int, event: str, *, actor: User | None, outcome: str, note: str
) -> ServiceRequest:
    with transaction.atomic():
        sr = _lock(request_id)
        _request_move(
            sr,
            event,
            actor=actor,
            outcome=outcome,
            outcome_note=note,
            data={"outcome": outcome, "note": note},
        )
        return sr


def request_retry(*, request_id: int, actor: User) -> ServiceRequest:
    """An operator sends queued work back to matching (say, workers have come on shift): the
    ladder starts again from its first round."""
    with transaction.atomic():
        sr = _lock(request_id)
        _request_move(sr, "match", actor=actor, offer_rounds=0)
        _offer_next(sr, actor=actor)
        return sr


# Service-level targets: each miss is recorded once, on the row and as an event.


def request_accept_missed(*, request_id: int) -> bool:
    """Nobody accepted by the target: what is still offered is withdrawn and the work goes to
    the operator queue (already there: the miss is recorded). False if it was accepted."""
    with transaction.atomic():
        sr = _lock_request(request_id, skip_locked=True)
        now = timezone.now()
        if sr is None or sr.accept_missed_at or sr.accept_due_at > now:
            return False
        if sr.state not in UNACCEPTED_STATES:
            return False
        _sla_missed(sr, "accept", now)
        if sr.state in (RequestState.OFFERED, RequestState.MATCHING):
            event = "escalate" if sr.state == RequestState.OFFERED else "exhaust"
            _escalate(sr, actor=None, reason="accept_target_missed", event=event)
        return True


def request_arrive_missed(*, request_id: int) -> bool:
    """Nobody on site by the target: recorded, and the operators are alerted when a worker is
    assigned (they call the worker; the check-in will count as late) or when it is an
    emergency (still nobody on the way: a second alert beside the queue's, re-sent until taken)."""
    with transaction.atomic():
        sr = _lock_request(request_id, skip_locked=True)
        now = timezone.now()
        if sr is None or sr.arrive_missed_at or sr.arrive_due_at > now:
            return False
        if sr.state not in NOT_ARRIVED_STATES:
            return False
        _sla_missed(sr, "arrive", now)
        if sr.assigned_worker_id or sr.priority == Priority.EMERGENCY:
            alert_raise(sr, "late_arrival", data={"worker": sr.assigned_worker_id})
        return True


def _sla_missed(sr: ServiceRequest, target: str, now: datetime) -> None:
    due = getattr(sr, f"{target}_due_at")
    setattr(sr, f"{target}_missed_at", now)
    sr.save(update_fields=[f"{target}_missed_at"])
    event_record(
        kind="request.sla_missed",
        subject_type="request",
        subject_id=sr.pk,
        before=sr.state,
        after=sr.state,
        district_id=sr.district_id,
        data={
            "reference": sr.reference,
            "target": target,
            "due_at": due.isoformat(),
            "priority": sr.priority,
        },
    )


def request_give_up(*, request_id: int) -> bool:
    """Queued work whose window ended with nobody: it fails with `no_worker_in_window`. Not an
    emergency: that ends only with a person and an outcome, so it stays in the queue. False
    when there was nothing to do."""
    with transaction.atomic():
        sr = _lock_request(request_id, skip_locked=True)
        if sr is None or sr.state != RequestState.ESCALATED or sr.window_end > timezone.now():
            return False
        if sr.priority == Priority.EMERGENCY:
            return False
        _request_move(
            sr,
            "fail",
            actor=None,
            outcome=Outcome.NO_WORKER_IN_WINDOW,
            data={"outcome": Outcome.NO_WORKER_IN_WINDOW},
        )
        return True


def request_close_after_quiet_period(*, request_id: int) -> bool:
    """Completed work nobody closed within CLOSE_AFTER_H closes by itself, unless someone else
    closed it first (feedback, an operator) or holds it now. Never an emergency: that closes
    only with the operator who records its outcome."""
    quiet = timedelta(hours=_knobs()["CLOSE_AFTER_H"])
    with transaction.atomic():
        sr = _lock_request(request_id, skip_locked=True)
        if sr is None or sr.state != RequestState.COMPLETED or sr.priority == Priority.EMERGENCY:
            return False
        if sr.state_changed_at > timezone.now() - quiet:
            return False
        _request_move(sr, "close", actor=None, data={"after_h": _knobs()["CLOSE_AFTER_H"]})
        return True


def request_override_assign(
    *, request_id: int, actor: User, worker_id: int, reason: str
) -> ServiceRequest:
    """An operator names the worker, with a reason, past matching: open offers are withdrawn."""
    with transaction.atomic():
        sr = _lock(request_id)
        worker = (
            Worker.objects.select_related("provider", "user")
            .filter(pk=worker_id, provider__district_id=sr.district_id)
            .first()
        )
        if worker is None:
            raise RequestNotFound(gettext("No such worker in this district."))
        _operator_assign(sr, worker, actor=actor, data={"reason": reason})
        return sr


def request_dispatch_candidate(*, request_id: int, actor: User, worker_id: int) -> ServiceRequest:
    """An operator dispatches the work to one of its ranked candidates (派单: the first, unless
    they choose another): the worker is assigned at once, as by an override, and the event
    records the candidate's rank and score instead of a reason. The ranking is made again under
    the lock: a worker no longer among the candidates (off shift, at capacity, too far, without
    a valid certificate, refused by the elder) is refused with 409 `not_a_candidate`."""
    with transaction.atomic():
        sr = _lock(request_id)
        ranked = ranked_candidates(sr)
        found = next(
            ((rank, r) for rank, r in enumerate(ranked, 1) if r.candidate.worker_id == worker_id),
            None,
        )
        if found is None:
            raise StateConflict(
                gettext(
                    "This worker is no longer among the request's candidates; "
                    "choose from the list as it is now."
                ),
                current_state=sr.state,
                code="not_a_candidate",
            )
        rank, chosen = found
        worker = Worker.objects.select_related("provider", "user").get(pk=worker_id)
        _operator_assign(
            sr,
            worker,
            actor=actor,
            data={"reason": "ranked_candidate", "rank": rank, "score": round(chosen.score, 4)},
        )
        return sr


def _operator_assign(
    sr: ServiceRequest, worker: Worker, *, actor: User, data: dict[str, object]
) -> None:
    """Precondition: `sr` is locked. Withdraw what is still offered, give the worker the job
    (refused when they are at capacity) and its access grant."""
    for offer in JobOffer.objects.select_related("worker", "request").filter(
        request=sr, state=OfferState.PENDING
    ):
        _offer_move(offer, "withdraw", actor=actor, data={"reason": "operator_override"})
    _take_job(worker, current_state=sr.state)
    _request_move(
        sr,
        "override_assign",
        actor=actor,
        assigned_worker=worker,
        assigned_provider=worker.provider,
        accepted_at=timezone.now(),
        data={"worker": worker.pk, **data},
    )
    _grant(sr, worker.user_id)


def request_cancel(
    *, request_id: int, actor: User, reason: str, outcome: str = ""
) -> ServiceRequest:
    """Cancel and withdraw every open offer; the assigned worker is told and freed. An
    emergency needs an outcome (a false alarm, the family has it in hand, 120 took over)."""
    with transaction.atomic():
        sr = _lock(request_id)
        worker_id = sr.assigned_worker_id
        for offer in JobOffer.objects.select_related("worker", "request").filter(
            request=sr, state=OfferState.PENDING
        ):
            _offer_move(offer, "withdraw", actor=actor, data={"reason": "request_cancelled"})
        _request_move(
            sr,
            "cancel",
            actor=actor,
            outcome=outcome,
            outcome_note=reason,
            data={"reason": reason, "outcome": outcome},
        )
        if worker_id:
            worker_jobs_adjust(worker_id=worker_id, delta=-1)
            access_grant_revoke(reference=_grant_reference(sr))
        return sr


# Visits ---------------------------------------------------------------------------------------
