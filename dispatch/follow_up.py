"""Follow-up (回访): ratings after a visit, complaints (from low ratings, or opened with a
reason), and what they do to the provider's credit record (through the providers app's
service)."""

from django.db import IntegrityError, transaction
from django.db.models import Avg
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import STAFF_ROLES, Role, User
from backend.core.errors import StateConflict
from backend.core.events import event_record
from elders.selectors import elder_family_user_ids
from providers.services import credit_event_record, worker_rating_set

from . import services
from .models import (
    Complaint,
    ComplaintReason,
    ComplaintState,
    Feedback,
    Priority,
    RequestState,
    ServiceRequest,
)
from .transitions import SYSTEM

LOW_RATING = 2
PRAISE_RATING = 5
RATED_STATES = frozenset({RequestState.COMPLETED, RequestState.CLOSED})
# Nobody has taken the work and its time has not come: nothing to complain of yet.
NOT_YET_COMPLAINED_OF = frozenset({RequestState.NEW, RequestState.MATCHING, RequestState.OFFERED})


def _locked_for_follow_up(request_id: int, user: User) -> ServiceRequest:
    """The work order, locked, if `user` may rate it or complain of it: district staff (on the
    elder's behalf, after a call), or one of the elder's family members."""
    sr = services._lock(request_id)
    allowed = user.role in STAFF_ROLES or (
        user.role == Role.FAMILY and user.pk in elder_family_user_ids(elder_id=sr.elder_id)
    )
    if not allowed:
        raise services.RequestNotFound(_("No such request among yours."))
    return sr


def feedback_record(*, request_id: int, user: User, rating: int, comment: str) -> Feedback:
    """Record the rating once; a low one opens a complaint for a district administrator, a
    top one is praise on the credit record; the request closes."""
    with transaction.atomic():
        sr = _locked_for_follow_up(request_id, user)
        if sr.state not in RATED_STATES:
            raise StateConflict(
                _("Feedback comes after the visit."),
                current_state=sr.state,
                code="request_state_conflict",
            )
        try:
            with transaction.atomic():
                feedback = Feedback.objects.create(
                    request=sr, rating=rating, comment=comment, given_by=user
                )
        except IntegrityError:
            raise StateConflict(
                _("This visit already has feedback."),
                current_state=sr.state,
                code="feedback_exists",
            ) from None
        worker = sr.assigned_worker
        if worker is None:  # a completed visit always has its worker; the column allows none
            raise StateConflict(
                _("This request has no worker to rate."), current_state=sr.state, code="no_worker"
            )
        average = Feedback.objects.filter(request__assigned_worker=worker).aggregate(
            a=Avg("rating")
        )["a"]
        worker_rating_set(worker_id=worker.pk, rating=average)
        if rating >= PRAISE_RATING:
            credit_event_record(
                provider_id=worker.provider_id,
                worker_id=worker.pk,
                kind="praise",
                reference=f"feedback:{feedback.pk}",
            )
        if rating <= LOW_RATING:
            _complaint_create(
                sr,
                user,
                reason=ComplaintReason.LOW_RATING,
                text=comment or f"rated {rating} of 5",
                feedback=feedback,
                rating=rating,
            )
        # An emergency stays open for the operator who records its outcome.
        if sr.state == RequestState.COMPLETED and sr.priority != Priority.EMERGENCY:
            services._request_move(sr, "close", actor=user, by=SYSTEM, data={"rating": rating})
    return feedback


def complaint_open(*, request_id: int, user: User, reason: str, text: str) -> Complaint:
    """A complaint (投诉) about a visit under way or past, with a reason and what happened, for
    a district administrator to decide. One open complaint per person and work order: a second
    while the first is open is refused (409), so a double tap or an angry minute files one."""
    with transaction.atomic():
        sr = _locked_for_follow_up(request_id, user)
        if sr.state in NOT_YET_COMPLAINED_OF:
            raise StateConflict(
                _("Nobody has taken this visit yet: there is nothing to complain of."),
                current_state=sr.state,
                code="request_state_conflict",
            )
        if Complaint.objects.filter(request=sr, opened_by=user, state=ComplaintState.OPEN).exists():
            raise StateConflict(
                _("You have already complained about this visit; it is being looked into."),
                current_state=sr.state,
                code="complaint_open",
            )
        return _complaint_create(sr, user, reason=reason, text=text)


def _complaint_create(
    sr: ServiceRequest,
    user: User,
    *,
    reason: str,
    text: str,
    feedback: Feedback | None = None,
    rating: int | None = None,
) -> Complaint:
    """Precondition: the caller holds the work order's lock."""
    complaint = Complaint.objects.create(
        request=sr, feedback=feedback, reason=reason, text=text, opened_by=user
    )
    data: dict[str, object] = {"request": sr.pk, "reason": reason}
    if rating is not None:
        data["rating"] = rating
    event_record(
        kind="complaint.opened",
        subject_type="complaint",
        subject_id=complaint.pk,
        actor=user,
        after=complaint.state,
        district_id=sr.district_id,
        data=data,
    )
    return complaint


def complaint_decide(*, complaint_id: int, actor: User, uphold: bool, note: str) -> Complaint:
    with transaction.atomic():
        complaint = (
            Complaint.objects.select_for_update(of=("self",))
            .select_related("request__assigned_worker")
            .get(pk=complaint_id)
        )
        if complaint.state != ComplaintState.OPEN:
            raise StateConflict(
                _("This complaint is already %(state)s.") % {"state": complaint.state},
                current_state=complaint.state,
                code="complaint_decided",
            )
        before = complaint.state
        complaint.state = ComplaintState.UPHELD if uphold else ComplaintState.DISMISSED
        complaint.decided_by, complaint.decision_note = actor, note
        complaint.decided_at = timezone.now()
        complaint.save()
        worker = complaint.request.assigned_worker
        if uphold and worker is not None:
            credit_event_record(
                provider_id=worker.provider_id,
                worker_id=worker.pk,
                kind="upheld_complaint",
                reference=f"complaint:{complaint.pk}",
                note=note,
            )
        event_record(
            kind=f"complaint.{complaint.state}",
            subject_type="complaint",
            subject_id=complaint.pk,
            actor=actor,
            before=before,
            after=complaint.state,
            district_id=complaint.request.district_id,
            data={"note": note},
        )
    return complaint
