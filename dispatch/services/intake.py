"""Intake, matching and offers: a need comes in, the best candidates get offers, the first
accept wins."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import RuleViolation, StateConflict
from backend.core.events import event_record
from elders.models import Elder, SmsKind
from providers.selectors import (
    provider_admin_ids,
    providers_serving,
    worker_eligible,
    workers_nearest,
)

from ..escalation import alert_raise
from ..family import family_text
from ..models import (
    JobOffer,
    OfferState,
    RequestState,
    ServiceRequest,
    ServiceType,
)
from ..ranking import Ranked, preferences_apply, rank
from ..selectors import requests_possibly_duplicated
from ..transitions import (
    SYSTEM,
)
from ..urgency import enqueue_for_request, request_is_urgent
from ._core import (
    MAX_COUNTDOWN_S,
    RequestNotFound,
    _display_tz,
    _grant,
    _knobs,
    _lock,
    _lock_request,
    _offer_move,
    _request_move,
    _request_recipients,
    _take_job,
)


def service_request_create(
    *,
    elder: Elder,
    service_type: ServiceType,
    channel: str,
    caller: User | None,
    priority: str | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    notes: str = "",
    care_need_id: int | None = None,
    occurrence: datetime | None = None,
) -> ServiceRequest:
    """Log a need. Matching starts now, or `lead_time` before a future window opens."""
    now = timezone.now()
    start = window_start or now
    end = window_end or start + service_type.default_duration
    if end <= start:
        raise RuleViolation(
            _("The window must end after it starts."),
            code="invalid_window",
            fields={"window_end": [_("must be after window_start")]},
        )
    match_at = max(now, start - service_type.lead_time)
    arrive_due_at = start + service_type.arrive_within if service_type.arrive_within else end
    # No savepoint of its own: no refusal comes from inside this block, and an error here ends
    # the caller's block too (the idempotency claim's; a care-plan run's, one per request).
    with transaction.atomic(savepoint=False):
        request_id, duplicate_id = _new_id_and_duplicate(
            elder_id=elder.pk, service_type=service_type
        )
        local_day = timezone.localtime(now, timezone=_display_tz()).strftime("%y%m%d")
        sr = ServiceRequest.objects.create(
            pk=request_id,
            reference=f"{local_day}-{request_id:06d}",
            possible_duplicate_of_id=duplicate_id,
            district_id=elder.district_id,
            elder=elder,
            service_type=service_type,
            channel=channel,
            caller=caller,
            priority=priority or service_type.default_priority,
            window_start=start,
            window_end=end,
            notes=notes,
            match_at=match_at,
            accept_due_at=match_at + service_type.accept_within,
            arrive_due_at=arrive_due_at,
            care_need_id=care_need_id,
            occurrence=occurrence,
        )
        event_record(
            kind="request.created",
            subject_type="request",
            subject_id=sr.pk,
            actor=caller,
            after=sr.state,
            district_id=sr.district_id,
            recipients=_request_recipients(sr),
            data={
                "reference": sr.reference,
                "service": service_type.code,
                "priority": sr.priority,
                "channel": channel,
                "match_at": match_at.isoformat(),
                "accept_due_at": sr.accept_due_at.isoformat(),
                "arrive_due_at": sr.arrive_due_at.isoformat(),
            },
        )
        _schedule_matching(sr)
        if request_is_urgent(sr):  # the family hears of an emergency at once, by SMS
            family_text(
                sr,
                kind=SmsKind.EMERGENCY,
                event=f"request.emergency:{sr.pk}",
                template="sms.emergency_created",
            )
    return sr


def _new_id_and_duplicate(*, elder_id: int, service_type: ServiceType) -> tuple[int, int | None]:
    """The new work order's id, drawn from its sequence so that the reference (which shows it)
    is written by the one INSERT, and the newest open request of the same service for the same
    elder, which it may duplicate: one query."""
    duplicate = requests_possibly_duplicated(
        elder_id=elder_id, service_type_id=service_type.pk
    ).values("pk")[:1]
    sql, params = duplicate.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence(%s, 'id')), ({sql})",
            [ServiceRequest._meta.db_table, *params],
        )
        request_id, duplicate_id = cursor.fetchone()
    return request_id, duplicate_id


def _schedule_matching(sr: ServiceRequest) -> None:
    from ..tasks import request_match

    delay = (sr.match_at - timezone.now()).total_seconds()
    if delay <= MAX_COUNTDOWN_S:
        enqueue_for_request(sr, request_match, sr.pk, countdown=max(0.0, delay) or None)


# Matching and offers --------------------------------------------------------------------------


def request_match(*, request_id: int, actor: User | None = None) -> ServiceRequest | None:
    """Offer the work to the next candidate(s), or put it in the operator queue.

    Safe to run twice: a request that is not waiting for matching is left alone.
    """
    with transaction.atomic():
        sr = _lock_request(request_id)
        if sr is None or sr.state not in (RequestState.NEW, RequestState.MATCHING):
            return sr
        if sr.state == RequestState.NEW:
            if sr.match_at > timezone.now():
                return sr
            _request_move(sr, "match", actor=actor, by=SYSTEM)
        _offer_next(sr, actor=actor)
        return sr


def _offer_next(sr: ServiceRequest, *, actor: User | None) -> None:
    """The next rung of the service type's escalation ladder. Precondition: `sr` is locked
    and matching.

    Another round of `offer_fanout` offers while rounds remain and somebody is left;
    otherwise the operator queue, with an alert a named operator must acknowledge.
    """
    ladder = sr.service_type
    if sr.offer_rounds >= ladder.offer_rounds:
        _escalate(sr, actor=actor, reason="rounds_exhausted", event="exhaust")
        return
    fanout = ladder.offer_fanout
    home = Elder.objects.values_list("location", flat=True).get(pk=sr.elder_id)
    serving = providers_serving(point=home, service_code=sr.service_type.code)
    made = JobOffer.objects.filter(request=sr)
    if sr.service_type.dispatch_mode == "provider":
        asked = frozenset(made.values_list("provider_id", flat=True))
        nearest = (
            serving.exclude(pk__in=asked)
            .filter(base_location__isnull=False)
            .order_by("base_distance")[:fanout]
        )
        candidates = [
            OfferTarget(
                None,
                p.pk,
                provider_admin_ids(provider_id=p.pk),
                p.base_distance.m,  # type: ignore[attr-defined]  # annotated by providers_serving
            )
            for p in nearest
        ]
    else:
        asked = frozenset(made.values_list("worker_id", flat=True))
        ranked = ranked_candidates(sr, home=home, exclude_worker_ids=asked, at_least=fanout)
        candidates = [
            OfferTarget(
                r.candidate.worker_id,
                r.candidate.provider_id,
                [r.candidate.user_id],
                r.candidate.distance_m,
            )
            for r in ranked[:fanout]
        ]
    if not candidates:
        _escalate(sr, actor=actor, reason="no_candidates", event="exhaust")
        return
    timeout = ladder.offer_timeout.total_seconds()
    expires_at = timezone.now() + ladder.offer_timeout
    rank = len(asked)
    offers = []
    for candidate in candidates:
        rank += 1
        offer = JobOffer.objects.create(
            request=sr,
            worker_id=candidate.worker_id,
            provider_id=candidate.provider_id,
            rank=rank,
            distance_m=round(candidate.distance_m, 1),
            expires_at=expires_at,
        )
        offers.append(offer)
        event_record(
            kind="offer.created",
            subject_type="offer",
            subject_id=offer.pk,
            actor=actor,
            after=offer.state,
            district_id=sr.district_id,
            recipients=candidate.recipients,
            data=offer_public_view(offer, sr),
        )
    _request_move(
        sr,
        "offer",
        actor=actor,
        by=SYSTEM,
        offer_rounds=sr.offer_rounds + 1,
        data={"offers": [o.pk for o in offers], "round": sr.offer_rounds + 1},
    )
    from ..tasks import offer_expire

    for offer in offers:
        enqueue_for_request(sr, offer_expire, offer.pk, countdown=timeout)


def _escalate(sr: ServiceRequest, *, actor: User | None, reason: str, event: str) -> None:
    """To the operator queue: withdraw what is still offered, raise the alert."""
    for offer in JobOffer.objects.select_related("worker", "request").filter(
        request=sr, state=OfferState.PENDING
    ):
        _offer_move(offer, "withdraw", actor=actor, data={"reason": "escalated"})
    offers_made = JobOffer.objects.filter(request=sr).count()
    _request_move(
        sr,
        event,
        actor=actor,
        by=SYSTEM,
        data={"reason": reason, "offers_made": offers_made, "rounds": sr.offer_rounds},
    )
    alert_raise(sr, "no_worker", data={"reason": reason, "offers_made": offers_made})


@dataclass(frozen=True)
class OfferTarget:
    """Who an offer goes to: a worker, or (worker None) a provider's admins."""

    worker_id: int | None
    provider_id: int
    recipients: list[int]
    distance_m: float


def ranked_candidates(
    sr: ServiceRequest,
    *,
    home: Point | None = None,
    exclude_worker_ids: frozenset[int] = frozenset(),
    at_least: int = 1,
) -> list[Ranked]:
    """The nearest eligible workers (a pool of CANDIDATE_POOL), minus those the elder's
    preferences rule out, ranked by the weighted terms in dispatch/ranking.py."""
    knobs = _knobs()
    if home is None:
        home = Elder.objects.values_list("location", flat=True).get(pk=sr.elder_id)
    serving = providers_serving(point=home, service_code=sr.service_type.code)
    found = workers_nearest(
        point=home,
        skill=sr.service_type.code,
        radius_m=knobs["MATCH_RADIUS_M"],
        provider_ids=serving.values_list("pk", flat=True),
        required_certificates=sr.service_type.required_certificates,
        exclude_worker_ids=exclude_worker_ids,
        limit=max(knobs["CANDIDATE_POOL"], at_least),
    )
    allowed = preferences_apply(sr.elder_id, found)
    return rank(elder_id=sr.elder_id, candidates=allowed, radius_m=knobs["MATCH_RADIUS_M"])


def offer_public_view(offer: JobOffer, sr: ServiceRequest) -> dict[str, Any]:
    """What a worker sees before accepting: the service, the time and the distance. No name or
    address: those are shared only once the job is theirs."""
    return {
        "offer": offer.pk,
        "request": sr.pk,
        "service": sr.service_type.code,
        "service_name": f"{sr.service_type.name} {sr.service_type.name_zh}",
        "priority": sr.priority,
        "window_start": sr.window_start.isoformat(),
        "window_end": sr.window_end.isoformat(),
        "distance_m": offer.distance_m,
        "expires_at": offer.expires_at.isoformat(),
    }


def _after_offer_closed(sr: ServiceRequest, *, actor: User | None) -> None:
    """An offer ended without an accept: move on once no other offer is still open."""
    if sr.state != RequestState.OFFERED:
        return
    if JobOffer.objects.filter(request=sr, state=OfferState.PENDING).exists():
        return
    _request_move(sr, "rematch", actor=actor, by=SYSTEM)
    _offer_next(sr, actor=actor)


def offer_expire(*, offer_id: int, skip_locked: bool = False) -> JobOffer | None:
    """Close an unanswered offer whose deadline passed. Does nothing if it was answered."""
    request_id = JobOffer.objects.filter(pk=offer_id).values_list("request_id", flat=True).first()
    if request_id is None:
        return None
    with transaction.atomic():
        sr = _lock_request(request_id, skip_locked=skip_locked)
        if sr is None:
            return None
        offer = JobOffer.objects.select_related("worker", "request").get(pk=offer_id)
        if offer.state != OfferState.PENDING or offer.expires_at > timezone.now():
            return offer
        _expire(offer, sr)
        return offer


def _expire(offer: JobOffer, sr: ServiceRequest) -> None:
    """Precondition: `sr` is locked and `offer` pending past its deadline."""
    _offer_move(offer, "expire", actor=None)
    _after_offer_closed(sr, actor=None)


def offer_decline(*, offer_id: int, user: User, reason: str) -> JobOffer:
    with transaction.atomic():
        offer, sr = _lock_offer_of(user, offer_id)
        _offer_move(offer, "decline", actor=user, data={"reason": reason}, decline_reason=reason)
        _after_offer_closed(sr, actor=user)
        return offer


def offer_accept(*, offer_id: int, user: User) -> JobOffer:
    """First accept wins, exactly once: the work order's row lock serialises racing accepts,
    and a partial unique constraint backs it. An offer past its deadline is refused whatever
    the sweeper's timing, and the refusal expires it and moves the ladder on, as the sweeper
    would have."""
    with transaction.atomic():
        offer, sr = _lock_offer_of(user, offer_id)
        if offer.state != OfferState.PENDING:
            raise StateConflict(
                _("This offer is %(offer_state)s; the request is %(state)s.")
                % {"offer_state": offer.state, "state": sr.state},
                current_state=offer.state,
                request_state=sr.state,
                code="offer_state_conflict",
            )
        if sr.state != RequestState.OFFERED:
            raise StateConflict(
                _("This job is no longer open: the request is %(state)s.") % {"state": sr.state},
                current_state=sr.state,
                code="request_state_conflict",
            )
        if offer.expires_at > timezone.now():
            _accept(offer, sr, user)
            return offer
        _expire(offer, sr)
    raise OfferExpired(
        _("This offer expired at %(time)s.") % {"time": offer.expires_at.isoformat()},
        current_state=OfferState.EXPIRED,
        code="offer_expired",
    )


class OfferExpired(StateConflict):
    """409 for an accept that came too late; the expiry it caused is kept."""

    keeps_changes = True


def _accept(offer: JobOffer, sr: ServiceRequest, user: User) -> None:
    """Precondition: `sr` is locked, offered, and `offer` is pending and in time. The worker's
    capacity is taken first, so a worker at capacity is refused with the offer left open."""
    worker = offer.worker
    if worker is not None:
        _take_job(worker, current_state=offer.state)
    _offer_move(offer, "accept", actor=user)
    for other in JobOffer.objects.select_related("worker", "request").filter(
        request=sr, state=OfferState.PENDING
    ):
        _offer_move(other, "withdraw", actor=user, data={"reason": "taken_by_another"})
    now = timezone.now()
    if worker is None:  # a provider takes the whole job and assigns staff later
        _request_move(
            sr, "accept", actor=user, assigned_provider_id=offer.provider_id, accepted_at=now
        )
        for admin_id in provider_admin_ids(provider_id=offer.provider_id):
            _grant(sr, admin_id)  # to choose who goes, they need to know where
        return
    _request_move(
        sr,
        "accept",
        actor=user,
        assigned_worker=worker,
        assigned_provider_id=offer.provider_id,
        accepted_at=now,
    )
    _grant(sr, worker.user_id)


def request_assign_worker(*, request_id: int, user: User, worker_id: int) -> ServiceRequest:
    """A provider that took the whole job names the worker who will go (派单给服务商)."""
    with transaction.atomic():
        sr = _lock(request_id)
        if sr.assigned_provider_id is None or user.pk not in provider_admin_ids(
            provider_id=sr.assigned_provider_id
        ):
            raise RequestNotFound(_("No such request among your organisation's jobs."))
        if sr.state != RequestState.ASSIGNED or sr.assigned_worker_id:
            raise StateConflict(
                _("A worker can be named only once, for a job your organisation accepted."),
                current_state=sr.state,
                code="request_state_conflict",
            )
        worker = worker_eligible(
            worker_id=worker_id,
            provider_id=sr.assigned_provider_id,
            skill=sr.service_type.code,
            required_certificates=sr.service_type.required_certificates,
        )
        if worker is None:
            raise RuleViolation(
                _("Not one of your workers with this skill and valid certificates."),
                code="worker_not_eligible",
                fields={"worker": [_("not eligible for this job")]},
            )
        _take_job(worker, current_state=sr.state)
        _request_move(
            sr, "assign_worker", actor=user, assigned_worker=worker, data={"worker": worker.pk}
        )
        _grant(sr, worker.user_id)
        return sr


def _lock_offer_of(user: User, offer_id: int) -> tuple[JobOffer, ServiceRequest]:
    """Lock the work order, then read the offer; 404 unless the offer is this worker's, or
    (a whole job offered to a provider) this provider admin's."""
    mine = Q(worker__user=user) | Q(worker__isnull=True, provider__admins=user)
    request_id = (
        JobOffer.objects.filter(mine, pk=offer_id).values_list("request_id", flat=True).first()
    )
    if request_id is None:
        raise RequestNotFound(_("No such offer among yours."))
    sr = _lock(request_id)
    offer = JobOffer.objects.select_related("worker").get(pk=offer_id)
    offer.request = sr  # the locked row, not a second copy of it
    return offer, sr
