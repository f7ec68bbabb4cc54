"""Thin tasks: take ids, call a service that locks and re-checks, and do nothing if the work is
already done. Countdowns are an optimisation; `sweep_deadlines` is the guarantee."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import escalation, services
from .models import JobOffer, OfferState, Priority, RequestState, ServiceRequest

STUCK_MATCHING_AFTER = timedelta(seconds=30)
SWEEP_BATCH = 200


@shared_task(acks_late=True)
def request_match(request_id: int) -> None:
    services.request_match(request_id=request_id)


@shared_task(acks_late=True)
def offer_expire(offer_id: int) -> None:
    services.offer_expire(offer_id=offer_id)


@shared_task(acks_late=True)
def care_plans_generate() -> int:
    from .care_plans import care_plans_generate as generate

    return generate()


@shared_task(acks_late=True)
def sweep_deadlines() -> dict[str, int]:
    """Find every deadline whose timer was lost (worker killed, broker restarted) and act on it.

    Rows locked by someone else are skipped this round and picked up on the next.
    """
    now = timezone.now()
    expired = 0
    for offer_id in JobOffer.objects.filter(
        state=OfferState.PENDING, expires_at__lte=now
    ).values_list("pk", flat=True)[:SWEEP_BATCH]:
        offer = services.offer_expire(offer_id=offer_id, skip_locked=True)
        expired += int(offer is not None and offer.state == OfferState.EXPIRED)
    due = ServiceRequest.objects.filter(state=RequestState.NEW, match_at__lte=now) | (
        ServiceRequest.objects.filter(
            state=RequestState.MATCHING, state_changed_at__lte=now - STUCK_MATCHING_AFTER
        )
    )
    no_shows = 0
    for request_id in ServiceRequest.objects.filter(
        state__in=[RequestState.ASSIGNED, RequestState.EN_ROUTE],
        window_end__lte=now,
        assigned_worker__isnull=False,
    ).values_list("pk", flat=True)[:SWEEP_BATCH]:
        services.request_no_show(request_id=request_id)
        no_shows += 1
    missing = 0
    grace = timedelta(minutes=settings.ANXIN["MISSING_CHECK_OUT_GRACE_M"])
    for sr in ServiceRequest.objects.filter(
        state=RequestState.ON_SITE,
        visit__checked_in_at__lte=now - grace,
    ).select_related("service_type", "visit")[:SWEEP_BATCH]:
        if sr.visit.checked_in_at + sr.service_type.default_duration + grace <= now:
            missing += bool(escalation.alert_raise(sr, "missing_check_out"))
    accept_missed = sum(
        services.request_accept_missed(request_id=request_id)
        for request_id in ServiceRequest.objects.filter(
            accept_missed_at__isnull=True,
            state__in=services.UNACCEPTED_STATES,
            accept_due_at__lte=now,
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    arrive_missed = sum(
        services.request_arrive_missed(request_id=request_id)
        for request_id in ServiceRequest.objects.filter(
            arrive_missed_at__isnull=True,
            state__in=services.UNACCEPTED_STATES | {RequestState.ASSIGNED, RequestState.EN_ROUTE},
            arrive_due_at__lte=now,
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    failed = 0
    for request_id in (
        ServiceRequest.objects.filter(state=RequestState.ESCALATED, window_end__lte=now)
        .exclude(priority=Priority.EMERGENCY)
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    ):
        sr = services.request_give_up(request_id=request_id)
        failed += int(sr is not None and sr.state == RequestState.FAILED)
    resent = escalation.alerts_resend()
    closed = 0
    # Emergencies are closed by the operator who records their outcome, never by time.
    for request_id in (
        ServiceRequest.objects.filter(
            state=RequestState.COMPLETED,
            state_changed_at__lte=now - timedelta(hours=settings.ANXIN["CLOSE_AFTER_H"]),
        )
        .exclude(priority=Priority.EMERGENCY)
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    ):
        services.request_close(request_id=request_id, actor=None)
        closed += 1
    matched = 0
    for request_id in due.values_list("pk", flat=True)[:SWEEP_BATCH]:
        services.request_match(request_id=request_id)
        matched += 1
    return {
        "offers_expired": expired,
        "requests_matched": matched,
        "requests_closed": closed,
        "no_shows": no_shows,
        "missing_check_outs": missing,
        "alerts_resent": resent,
        "accept_targets_missed": accept_missed,
        "arrive_targets_missed": arrive_missed,
        "requests_failed": failed,
    }
