"""Writes of the dispatch app. Every state change of a work order, offer or visit goes through
`_request_move`, `_offer_move` or `_visit_move`: the caller holds the work order's row lock
(always taken first, then offers, then the worker), the table is checked, the row saved, the
event written, and side effects leave after commit."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from backend.accounts.models import User
from backend.core.errors import DomainError, RuleViolation, StateConflict
from backend.core.events import event_record
from backend.core.side_effects import enqueue_after_commit
from backend.telephony.tasks import sms_send
from elders.models import Elder
from elders.selectors import elder_family_user_ids, elder_first_sms_contact
from elders.services import access_grant_issue, access_grant_revoke
from providers.models import Worker
from providers.selectors import (
    provider_admin_ids,
    provider_price,
    providers_serving,
    worker_eligible,
    workers_nearest,
)
from providers.services import credit_event_record, worker_jobs_adjust

from .escalation import alert_raise
from .models import (
    OPEN_REQUEST_STATES,
    JobOffer,
    OfferState,
    Priority,
    RequestState,
    ServiceRequest,
    ServiceType,
    Visit,
)
from .ranking import Ranked, preferences_apply, rank
from .transitions import (
    OFFER_TRANSITIONS,
    REQUEST_TRANSITIONS,
    SYSTEM,
    VISIT_TRANSITIONS,
    actor_kind,
    next_state,
)


class NotAllowed(DomainError):
    status_code = 403
    default_code = "not_allowed"


log = structlog.get_logger(__name__)

# A countdown longer than this would outlive the broker's visibility timeout; the sweeper
# starts such work instead.
MAX_COUNTDOWN_S = 3000


def _knobs() -> dict[str, Any]:
    return settings.ANXIN


def _request_recipients(sr: ServiceRequest) -> list[int]:
    users = elder_family_user_ids(elder_id=sr.elder_id)
    if sr.assigned_worker_id:
        users.append(Worker.objects.values_list("user_id", flat=True).get(pk=sr.assigned_worker_id))
    if sr.assigned_provider_id:
        users.extend(provider_admin_ids(provider_id=sr.assigned_provider_id))
    return users


def _request_move(
    sr: ServiceRequest,
    event: str,
    *,
    actor: User | None,
    by: str | None = None,
    data: dict | None = None,
    **fields,
) -> None:
    """Precondition: the caller holds `select_for_update` on `sr`.

    `by` names the column of the table when the change is a consequence the system draws
    from someone's act (a decline moves the work on: the worker declined, the system rematches).
    """
    before = sr.state
    found = next_state(REQUEST_TRANSITIONS, before, event)
    if found is None:
        raise StateConflict(
            f"Cannot {event.replace('_', ' ')} a request that is {before}",
            current_state=before,
            code="request_state_conflict",
        )
    after, who = found
    if (by or actor_kind(actor)) not in who:
        raise NotAllowed(f"Your role may not {event.replace('_', ' ')} a request")
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


def _offer_move(
    offer: JobOffer, event: str, *, actor: User | None, data: dict | None = None, **fields
) -> None:
    """Precondition: the caller holds the lock on the offer's work order."""
    before = offer.state
    after = next_state(OFFER_TRANSITIONS, before, event)
    if after is None:
        raise StateConflict(
            f"Cannot {event} an offer that is {before}",
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
    if offer.worker_id:
        return [offer.worker.user_id]
    return provider_admin_ids(provider_id=offer.provider_id)


def _visit_move(visit: Visit, event: str, **fields) -> None:
    after = next_state(VISIT_TRANSITIONS, visit.state, event)
    if after is None:
        raise StateConflict(
            f"Cannot {event} a visit that is {visit.state}",
            current_state=visit.state,
            code="visit_state_conflict",
        )
    visit.state = after
    for name, value in fields.items():
        setattr(visit, name, value)
    visit.save(update_fields=["state", *fields])


def _lock_request(request_id: int, *, skip_locked: bool = False) -> ServiceRequest | None:
    return (
        ServiceRequest.objects.select_for_update(skip_locked=skip_locked, of=("self",))
        .select_related("service_type")
        .filter(pk=request_id)
        .first()
    )


# Intake ---------------------------------------------------------------------------------------


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
            "The window must end after it starts",
            code="invalid_window",
            fields={"window_end": ["must be after window_start"]},
        )
    match_at = max(now, start - service_type.lead_time)
    with transaction.atomic():
        duplicate = (
            ServiceRequest.objects.filter(
                elder=elder, service_type=service_type, state__in=OPEN_REQUEST_STATES
            )
            .order_by("-created_at")
            .first()
        )
        sr = ServiceRequest.objects.create(
            possible_duplicate_of=duplicate,
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
            care_need_id=care_need_id,
            occurrence=occurrence,
        )
        local_day = timezone.localtime(now, timezone=_display_tz()).strftime("%y%m%d")
        sr.reference = f"{local_day}-{sr.pk:06d}"
        sr.save(update_fields=["reference"])
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
            },
        )
        _schedule_matching(sr)
    return sr


def _display_tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo(settings.DISPLAY_TIME_ZONE)


def _schedule_matching(sr: ServiceRequest) -> None:
    from .tasks import request_match

    delay = (sr.match_at - timezone.now()).total_seconds()
    if delay <= MAX_COUNTDOWN_S:
        enqueue_after_commit(request_match, sr.pk, countdown=max(0.0, delay) or None)


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
    """Precondition: `sr` is locked and matching."""
    knobs = _knobs()
    fanout = knobs["EMERGENCY_FANOUT"] if sr.priority == Priority.EMERGENCY else 1
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
            OfferTarget(None, p.pk, provider_admin_ids(provider_id=p.pk), p.base_distance.m)
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
        _request_move(
            sr,
            "exhaust",
            actor=actor,
            by=SYSTEM,
            data={"reason": "no_candidates", "offers_made": len(asked)},
        )
        alert_raise(sr, "no_worker", data={"offers_made": len(asked)})
        return
    timeout = knobs["OFFER_TIMEOUT_S"]
    expires_at = timezone.now() + timedelta(seconds=timeout)
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
    _request_move(sr, "offer", actor=actor, by=SYSTEM, data={"offers": [o.pk for o in offers]})
    from .tasks import offer_expire

    for offer in offers:
        enqueue_after_commit(offer_expire, offer.pk, countdown=timeout)


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
    home=None,
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
        _offer_move(offer, "expire", actor=None)
        _after_offer_closed(sr, actor=None)
        return offer


def offer_decline(*, offer_id: int, user: User, reason: str) -> JobOffer:
    with transaction.atomic():
        offer, sr = _lock_offer_of(user, offer_id)
        _offer_move(offer, "decline", actor=user, data={"reason": reason}, decline_reason=reason)
        _after_offer_closed(sr, actor=user)
        return offer


def offer_accept(*, offer_id: int, user: User) -> JobOffer:
    """First accept wins, exactly once: the work order's row lock serialises racing accepts,
    and a partial unique constraint backs it."""
    with transaction.atomic():
        offer, sr = _lock_offer_of(user, offer_id)
        if offer.state != OfferState.PENDING:
            raise StateConflict(
                f"This offer is {offer.state}; the request is {sr.state}",
                current_state=offer.state,
                request_state=sr.state,
                code="offer_state_conflict",
            )
        if sr.state != RequestState.OFFERED:
            raise StateConflict(
                f"This job is no longer open: the request is {sr.state}",
                current_state=sr.state,
                code="request_state_conflict",
            )
        _offer_move(offer, "accept", actor=user)
        for other in JobOffer.objects.select_related("worker", "request").filter(
            request=sr, state=OfferState.PENDING
        ):
            _offer_move(other, "withdraw", actor=user, data={"reason": "taken_by_another"})
        if offer.worker_id is None:  # a provider takes the whole job and assigns staff later
            _request_move(sr, "accept", actor=user, assigned_provider=offer.provider)
            return offer
        _take_job(offer.worker, current_state=offer.state)
        _request_move(
            sr, "accept", actor=user, assigned_worker=offer.worker, assigned_provider=offer.provider
        )
        _grant(sr, offer.worker.user_id)
        return offer


def _take_job(worker: Worker, *, current_state: str) -> None:
    try:
        with transaction.atomic():
            worker_jobs_adjust(worker_id=worker.pk, delta=+1)
    except IntegrityError:
        raise StateConflict(
            "The worker already holds as many jobs as they can take",
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


def request_assign_worker(*, request_id: int, user: User, worker_id: int) -> ServiceRequest:
    """A provider that took the whole job names the worker who will go (派单给服务商)."""
    from django.http import Http404

    with transaction.atomic():
        sr = _lock_request(request_id)
        if sr is None or sr.assigned_provider_id is None:
            raise Http404
        if user.pk not in provider_admin_ids(provider_id=sr.assigned_provider_id):
            raise Http404
        if sr.state != RequestState.ASSIGNED or sr.assigned_worker_id:
            raise StateConflict(
                "A worker can be named only once, for a job your organisation accepted",
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
                "Not one of your workers with this skill and valid certificates",
                code="worker_not_eligible",
                fields={"worker": ["not eligible for this job"]},
            )
        _take_job(worker, current_state=sr.state)
        _request_move(
            sr, "assign_worker", actor=user, assigned_worker=worker, data={"worker": worker.pk}
        )
        _grant(sr, worker.user_id)
        return sr


def _grant_reference(sr: ServiceRequest) -> str:
    return f"request:{sr.pk}"


def _lock_offer_of(user: User, offer_id: int) -> tuple[JobOffer, ServiceRequest]:
    """Lock the work order, then read the offer; 404 unless the offer is this worker's, or
    (a whole job offered to a provider) this provider admin's."""
    from django.http import Http404

    mine = Q(worker__user=user) | Q(worker__isnull=True, provider__admins=user)
    request_id = (
        JobOffer.objects.filter(mine, pk=offer_id).values_list("request_id", flat=True).first()
    )
    if request_id is None:
        raise Http404
    sr = _lock_request(request_id)
    offer = JobOffer.objects.select_related("worker", "request").get(pk=offer_id)
    return offer, sr


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


@dataclass(frozen=True)
class CheckIn:
    visit: Visit
    distance_m: float


def _assigned_to(sr: ServiceRequest, user: User) -> None:
    from django.http import Http404

    if sr is None or sr.assigned_worker_id is None:
        raise Http404
    if not Worker.objects.filter(pk=sr.assigned_worker_id, user=user).exists():
        raise Http404


GEOFENCE_EXCEPTION_REASONS = ["gps_drift", "elder_not_at_home", "wrong_address_on_file", "other"]


def visit_check_in(
    *, request_id: int, user: User, point: Point, exception_reason: str = ""
) -> CheckIn:
    """Start the visit record at the door. Outside the geofence it is refused with the
    distance, unless the worker gives a reason code: then it is recorded as an exception for a
    supervisor to approve or reject."""
    with transaction.atomic():
        sr = _lock_request(request_id)
        _assigned_to(sr, user)
        if sr.state not in (RequestState.ASSIGNED, RequestState.EN_ROUTE):
            raise StateConflict(
                f"Cannot check in: the request is {sr.state}",
                current_state=sr.state,
                code="request_state_conflict",
            )
        elder = Elder.objects.annotate(d=Distance("location", point)).get(pk=sr.elder_id)
        distance = round(elder.d.m, 1)
        limit = _knobs()["GEOFENCE_M"]
        outside = distance > limit
        if outside and not exception_reason:
            log.info("check_in_refused", request=sr.pk, distance_m=distance, geofence_m=limit)
            raise RuleViolation(
                f"You are {distance:.0f} m from the home; check in within {limit} m, or give "
                f"an exception_reason",
                code="outside_geofence",
                distance_m=distance,
                geofence_m=limit,
                exception_reasons=GEOFENCE_EXCEPTION_REASONS,
            )
        price = provider_price(
            provider_id=Worker.objects.values_list("provider_id", flat=True).get(
                pk=sr.assigned_worker_id
            ),
            service_code=sr.service_type.code,
        )
        visit = Visit.objects.create(
            price=price.price if price else None,
            price_unit=price.unit if price else "",
            subsidy_share=Decimal(str(_knobs()["SUBSIDY_SHARE"]))
            if price and price.subsidised
            else Decimal(0),
            exception_reason=exception_reason if outside else "",
            exception_state="pending" if outside else "",
            request=sr,
            worker_id=sr.assigned_worker_id,
            elder_id=sr.elder_id,
            service_type_id=sr.service_type_id,
            checked_in_at=timezone.now(),
            check_in_point=point,
            check_in_distance_m=distance,
        )
        _request_move(
            sr,
            "check_in",
            actor=user,
            data={
                "visit": visit.pk,
                "distance_m": distance,
                "exception_reason": visit.exception_reason,
            },
        )
        if visit.checked_in_at > sr.window_end:
            _credit(sr, "late_arrival", f"visit:{visit.pk}")
        _notify_family(sr, elder, arrived=True, at=visit.checked_in_at)
        return CheckIn(visit=visit, distance_m=distance)


def visit_exception_decide(*, visit_id: int, user: User, approve: bool, resolution: str) -> Visit:
    """A supervisor decides a check-in recorded outside the geofence."""
    with transaction.atomic():
        visit = Visit.objects.select_for_update().select_related("request").get(pk=visit_id)
        if visit.exception_state != "pending":
            raise StateConflict(
                "No pending exception on this visit",
                current_state=visit.exception_state or "none",
                code="no_pending_exception",
            )
        visit.exception_state = "approved" if approve else "rejected"
        visit.exception_resolution = resolution
        visit.save(update_fields=["exception_state", "exception_resolution"])
        event_record(
            kind=f"visit.exception_{visit.exception_state}",
            subject_type="visit",
            subject_id=visit.pk,
            actor=user,
            before="pending",
            after=visit.exception_state,
            district_id=visit.request.district_id,
            data={"request": visit.request_id, "resolution": resolution},
        )
    return visit


def visit_check_out(
    *, request_id: int, user: User, point: Point | None, welfare_outcome: str = ""
) -> Visit:
    with transaction.atomic():
        sr = _lock_request(request_id)
        _assigned_to(sr, user)
        if sr.state != RequestState.ON_SITE:
            raise StateConflict(
                f"Cannot check out: the request is {sr.state}",
                current_state=sr.state,
                code="request_state_conflict",
            )
        visit = Visit.objects.get(request=sr)
        is_welfare = sr.service_type.code == "welfare_check"
        if is_welfare and not welfare_outcome:
            raise RuleViolation(
                "A welfare check (巡访) records what it found",
                code="welfare_outcome_required",
                fields={"welfare_outcome": ["seen_well, needs_help, not_home or no_answer"]},
            )
        _visit_move(
            visit,
            "check_out",
            checked_out_at=timezone.now(),
            check_out_point=point,
            welfare_outcome=welfare_outcome if is_welfare else "",
        )
        if welfare_outcome in ("no_answer", "needs_help"):
            alert_raise(sr, f"welfare_{welfare_outcome}", data={"visit": visit.pk})
        _request_move(sr, "check_out", actor=user, data={"visit": visit.pk})
        worker_jobs_adjust(worker_id=sr.assigned_worker_id, delta=-1)
        access_grant_revoke(reference=_grant_reference(sr))
        _credit(sr, "verified_visit", f"visit:{visit.pk}")
        elder = Elder.objects.get(pk=sr.elder_id)
        _notify_family(sr, elder, arrived=False, at=visit.checked_out_at)
        return visit


def _credit(sr: ServiceRequest, kind: str, reference: str) -> None:
    provider_id = Worker.objects.values_list("provider_id", flat=True).get(pk=sr.assigned_worker_id)
    credit_event_record(
        provider_id=provider_id,
        worker_id=sr.assigned_worker_id,
        kind=kind,
        reference=reference,
    )


def _notify_family(sr: ServiceRequest, elder: Elder, *, arrived: bool, at: datetime) -> None:
    contact = elder_first_sms_contact(elder_id=elder.pk)
    if contact is None:
        return
    local = timezone.localtime(at, timezone=_display_tz()).strftime("%H:%M")
    what = f"{sr.service_type.name_zh}({sr.service_type.name})"
    if arrived:
        body = f"【安心】{elder.full_name}的{what}服务人员已于{local}到达。工单{sr.reference}"
    else:
        body = f"【安心】{elder.full_name}的{what}服务已于{local}完成。工单{sr.reference}"
    enqueue_after_commit(sms_send, str(contact.phone), body)
