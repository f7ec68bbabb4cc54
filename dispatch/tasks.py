"""Thin tasks: take ids, call a service that locks and re-checks, and do nothing if the work is
already done. Countdowns are an optimisation; `sweep_deadlines` is the guarantee."""

from collections.abc import Callable, Iterable
from datetime import timedelta

import structlog
from celery import shared_task
from django.conf import settings
from django.db import connection
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from . import escalation, services
from .models import JobOffer, OfferState, Priority, RequestState, ServiceRequest

log = structlog.get_logger(__name__)

STUCK_MATCHING_AFTER = timedelta(seconds=30)
SWEEP_BATCH = 200
# The key of the PostgreSQL advisory lock one sweep holds while it runs ("anxin sweep").
SWEEP_LOCK = 0x616E78696E_5357


@shared_task(acks_late=True)
def request_match(request_id: int) -> None:
    services.request_match(request_id=request_id)


@shared_task(acks_late=True)
def offer_expire(offer_id: int) -> None:
    services.offer_expire(offer_id=offer_id)


# On its own queue (CELERY_TASK_ROUTES). The run stops itself after ANXIN_CARE_PLAN_RUN_S; the
# soft limit is the backstop should one step hang (each request is its own transaction).
@shared_task(acks_late=True, soft_time_limit=2 * settings.ANXIN["CARE_PLAN_RUN_S"] + 30)
def care_plans_generate() -> int:
    from .care_plans import care_plans_generate as generate

    return generate()


@shared_task(acks_late=True)
def sweep_deadlines() -> dict[str, int] | dict[str, str]:
    """Find every deadline whose timer was lost (worker killed, broker restarted) and act on it.

    One sweep at a time (an advisory lock; a sweep that finds one running returns at once).
    The most time-critical work goes first, emergencies first within each step. Each item is
    its own transaction: one that fails is logged and counted, and the rest go on. Rows
    locked by someone else are skipped this round and picked up on the next. The figures
    count what was done, not what was looked at.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SWEEP_LOCK])
        if not cursor.fetchone()[0]:
            return {"skipped": "another sweep is running"}
    try:
        return _sweep(timezone.now())
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SWEEP_LOCK])


def _emergency_first(priority: str = "priority") -> Case:
    return Case(
        When(**{priority: Priority.EMERGENCY}, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )


def _ids(qs: QuerySet, *deadline: str, priority: str = "priority") -> list[int]:
    ordered = qs.order_by(_emergency_first(priority), *deadline)
    return list(ordered.values_list("pk", flat=True)[:SWEEP_BATCH])


def _steps(now) -> Iterable[tuple[str, Callable[[], list[int]], Callable[[int], bool]]]:
    """(what is counted, the ids due, the action on one id: True if it acted), in order."""
    requests = ServiceRequest.objects
    grace = timedelta(minutes=settings.ANXIN["MISSING_CHECK_OUT_GRACE_M"])
    yield (
        "offers_expired",
        lambda: _ids(
            JobOffer.objects.filter(state=OfferState.PENDING, expires_at__lte=now),
            "expires_at",
            priority="request__priority",
        ),
        _expire,
    )
    yield (
        "requests_matched",
        lambda: _ids(
            requests.filter(state=RequestState.NEW, match_at__lte=now)
            | requests.filter(
                state=RequestState.MATCHING, state_changed_at__lte=now - STUCK_MATCHING_AFTER
            ),
            "match_at",
        ),
        _match,
    )
    yield (
        "accept_targets_missed",
        lambda: _ids(
            requests.filter(
                accept_missed_at__isnull=True,
                state__in=services.UNACCEPTED_STATES,
                accept_due_at__lte=now,
            ),
            "accept_due_at",
        ),
        lambda pk: services.request_accept_missed(request_id=pk),
    )
    yield (
        "arrive_targets_missed",
        lambda: _ids(
            requests.filter(
                arrive_missed_at__isnull=True,
                state__in=services.UNACCEPTED_STATES
                | {RequestState.ASSIGNED, RequestState.EN_ROUTE},
                arrive_due_at__lte=now,
            ),
            "arrive_due_at",
        ),
        lambda pk: services.request_arrive_missed(request_id=pk),
    )
    yield (
        "alerts_resent",
        lambda: _ids(escalation.alerts_due_for_resend(), "resend_at", priority="request__priority"),
        lambda pk: escalation.alert_resend(alert_id=pk),
    )
    yield (
        "no_shows",
        lambda: _ids(
            requests.filter(
                state__in=[RequestState.ASSIGNED, RequestState.EN_ROUTE],
                window_end__lte=now,
                assigned_worker__isnull=False,
            ),
            "window_end",
        ),
        lambda pk: services.request_no_show(request_id=pk),
    )
    yield (
        "missing_check_outs",
        lambda: _ids(
            requests.filter(state=RequestState.ON_SITE, visit__checked_in_at__lte=now - grace),
            "visit__checked_in_at",
        ),
        lambda pk: escalation.missing_check_out_alert(request_id=pk),
    )
    yield (
        "requests_failed",
        lambda: _ids(
            requests.filter(state=RequestState.ESCALATED, window_end__lte=now).exclude(
                priority=Priority.EMERGENCY
            ),
            "window_end",
        ),
        lambda pk: services.request_give_up(request_id=pk),
    )
    # Emergencies are closed by the operator who records their outcome, never by time.
    yield (
        "requests_closed",
        lambda: _ids(
            requests.filter(
                state=RequestState.COMPLETED,
                state_changed_at__lte=now - timedelta(hours=settings.ANXIN["CLOSE_AFTER_H"]),
            ).exclude(priority=Priority.EMERGENCY),
            "state_changed_at",
        ),
        lambda pk: services.request_close_after_quiet_period(request_id=pk),
    )


def _expire(offer_id: int) -> bool:
    offer = services.offer_expire(offer_id=offer_id, skip_locked=True)
    return offer is not None and offer.state == OfferState.EXPIRED


def _match(request_id: int) -> bool:
    sr = services.request_match(request_id=request_id)
    return sr is not None and sr.state not in (RequestState.NEW, RequestState.MATCHING)


def _sweep(now) -> dict[str, int]:
    done: dict[str, int] = {}
    failed = 0
    for name, due, act in _steps(now):
        done[name] = 0
        try:
            ids = due()
        except Exception:  # a step whose scan fails must not keep the later ones from running
            failed += 1
            log.exception("sweep_step_failed", step=name)
            continue
        for pk in ids:
            try:
                done[name] += int(act(pk))
            except Exception:
                failed += 1
                log.exception("sweep_item_failed", step=name, id=pk)
    done["items_failed"] = failed
    return done
