"""What operators and the sweeper do to a work order after intake: cancel, override,
close, fail, and no-shows."""

from django.db import transaction
from django.utils import timezone

from backend.accounts.models import User
from elders.services import access_grant_revoke
from providers.models import Worker
from providers.services import worker_jobs_adjust

from ..escalation import alert_raise
from ..models import (
    JobOffer,
    OfferState,
    RequestState,
    ServiceRequest,
)
from ._core import (
    _assigned_to,
    _credit,
    _grant,
    _grant_reference,
    _lock_request,
    _offer_move,
    _request_move,
    _take_job,
)
from .intake import _offer_next


def request_no_show(*, request_id: int) -> ServiceRequest | None:
    """Nobody checked in by the end of the window: free the worker, put it on the credit
    record, alert the operators, and offer the job again. Does nothing if they arrived."""
    with transaction.atomic():
        sr = _lock_request(request_id, skip_locked=True)
        if sr is None or sr.state not in (RequestState.ASSIGNED, RequestState.EN_ROUTE):
            return sr
        if sr.window_end > timezone.now() or sr.assigned_worker_id is None:
            return sr
        worker_id = sr.assigned_worker_id
        _credit(sr, "no_show", f"request:{sr.pk}")
        worker_jobs_adjust(worker_id=worker_id, delta=-1)
        access_grant_revoke(reference=_grant_reference(sr))
        _request_move(
            sr,
            "no_show",
            actor=None,
            assigned_worker=None,
            assigned_provider=None,
            data={"worker": worker_id},
        )
        alert_raise(sr, "non_arrival", data={"worker": worker_id})
        _offer_next(sr, actor=None)
        return sr


def request_set_out(*, request_id: int, user: User) -> ServiceRequest:
    """The assigned worker is on the way (the family and operators see it)."""
    with transaction.atomic():
        sr = _lock_request(request_id)
        _assigned_to(sr, user)
        _request_move(sr, "set_out", actor=user)
        return sr


def request_close(*, request_id: int, actor: User | None) -> ServiceRequest:
    with transaction.atomic():
        sr = _lock_request(request_id)
        _request_move(sr, "close", actor=actor)
        return sr


def request_fail(*, request_id: int, actor: User | None, outcome: str) -> ServiceRequest:
    """Nobody could be found: the request ends with an outcome code and who decided it."""
    with transaction.atomic():
        sr = _lock_request(request_id)
        _request_move(sr, "fail", actor=actor, outcome=outcome, data={"outcome": outcome})
        return sr


def request_override_assign(
    *, request_id: int, actor: User, worker_id: int, reason: str
) -> ServiceRequest:
    """An operator names the worker, with a reason, past matching: open offers are withdrawn."""
    from django.http import Http404

    with transaction.atomic():
        sr = _lock_request(request_id)
        worker = (
            Worker.objects.select_related("provider", "user")
            .filter(pk=worker_id, provider__district_id=sr.district_id)
            .first()
        )
        if worker is None:
            raise Http404
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
            data={"worker": worker.pk, "reason": reason},
        )
        _grant(sr, worker.user_id)
        return sr


def request_cancel(*, request_id: int, actor: User, reason: str) -> ServiceRequest:
    """Cancel and withdraw every open offer; the assigned worker is told and freed."""
    with transaction.atomic():
        sr = _lock_request(request_id)
        worker_id = sr.assigned_worker_id
        for offer in JobOffer.objects.select_related("worker", "request").filter(
            request=sr, state=OfferState.PENDING
        ):
            _offer_move(offer, "withdraw", actor=actor, data={"reason": "request_cancelled"})
        _request_move(sr, "cancel", actor=actor, data={"reason": reason})
        if worker_id:
            worker_jobs_adjust(worker_id=worker_id, delta=-1)
            access_grant_revoke(reference=_grant_reference(sr))
        return sr


# Visits ---------------------------------------------------------------------------------------
