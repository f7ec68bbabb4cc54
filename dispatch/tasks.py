"""Thin tasks: take ids, call a service that locks and re-checks, and do nothing if the work is
already done. Countdowns are an optimisation; the sweeps (`sweep_urgent`, `sweep_routine`) are
the guarantee."""

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from celery import shared_task
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from backend.core.sweeps import alone, steps_run
from backend.core.watchdog import heartbeat_record

from . import escalation, offer_sms, services, visit_confirmation
from .models import JobOffer, OfferState, Priority, RequestState, ServiceRequest
from .urgency import urgent_q

STUCK_MATCHING_AFTER = timedelta(seconds=30)
SWEEP_BATCH = 200


@shared_task(acks_late=True)
def request_match(request_id: int) -> None:
    services.request_match(request_id=request_id)


@shared_task(acks_late=True)
def offer_expire(offer_id: int) -> None:
    services.offer_expire(offer_id=offer_id)


# On the bulk queue (backend/core/queues.py). The run stops itself after ANXIN_CARE_PLAN_RUN_S; the
# soft limit is the backstop should one step hang (each request is its own transaction).
@shared_task(acks_late=True, soft_time_limit=2 * settings.ANXIN["CARE_PLAN_RUN_S"] + 30)
def care_plans_generate() -> int:
    from .care_plans import care_plans_generate as generate

    return generate()


class Sweep(NamedTuple):
    name: str
    urgent: bool  # which work it sweeps (dispatch/urgency.py)
    lock: int  # the key of the PostgreSQL advisory lock it holds while it runs
    timer: str  # the name it records its runs under, for the watchdog (its task's name)


# Two sweeps, so that emergency deadlines never wait behind routine ones: each on its own queue
# (backend/core/queues.py), every few seconds from beat, under a lock of its own.
URGENT_SWEEP = Sweep("urgent", True, 0x616E78696E_5355, "dispatch.tasks.sweep_urgent")
ROUTINE_SWEEP = Sweep("routine", False, 0x616E78696E_5352, "dispatch.tasks.sweep_routine")
SKIPPED = {"skipped": "another sweep is running"}


@shared_task(acks_late=True)
def sweep_urgent() -> dict[str, int] | dict[str, str]:
    """Deadlines of urgent work (dispatch/urgency.py): emergencies' offers, matching, alerts.
    (Alarms have a sweep and a worker of their own: alarms/tasks.py.)"""
    done = _sweep_alone(URGENT_SWEEP)
    return SKIPPED if done is None else done


@shared_task(acks_late=True)
def sweep_routine() -> dict[str, int] | dict[str, str]:
    """Deadlines of all other work."""
    done = _sweep_alone(ROUTINE_SWEEP)
    return SKIPPED if done is None else done


def sweep_deadlines() -> dict[str, int | str]:
    """Both sweeps here and now, the urgent one first, their figures added up (the simulator,
    tests, a shell). A sweep that found its twin running is named under "skipped"."""
    total: dict[str, int | str] = {}
    skipped = []
    for sweep in (URGENT_SWEEP, ROUTINE_SWEEP):
        done = _sweep_alone(sweep)
        if done is None:
            skipped.append(sweep.name)
            continue
        for step, count in done.items():
            total[step] = int(total.get(step, 0)) + count
    if skipped:
        total["skipped"] = ", ".join(skipped)
    return total


def _sweep_alone(sweep: Sweep) -> dict[str, int] | None:
    """Find every deadline of the sweep's work whose timer was lost (worker killed, broker
    restarted) and act on it; None if another sweep of its kind holds the lock.

    The most time-critical work goes first. Each item is its own transaction: one that fails
    is logged and counted, and the rest go on. Rows locked by someone else are skipped this
    round and picked up on the next. The figures count what was done, not what was looked at.
    A sweep that ran records it (backend/core/watchdog.py); one that found its twin running
    does not need to.
    """
    with alone(sweep.lock) as held:
        if not held:
            return None
        done = _sweep(timezone.now(), urgent=sweep.urgent)
        heartbeat_record(name=sweep.timer)  # for the watchdog: this sweep is alive
        return done


def _steps(
    now: datetime, *, urgent: bool
) -> Iterable[tuple[str, Callable[[], list[int]], Callable[[int], bool]]]:
    """(what is counted, the ids due, the action on one id: True if it acted), in order of
    urgency; the ids are of urgent work only, or of all other work (dispatch/urgency.py)."""
    requests = ServiceRequest.objects

    def _ids(qs: QuerySet, *deadline: str, priority: str = "priority") -> list[int]:
        mine = qs.filter(urgent_q(priority)) if urgent else qs.exclude(urgent_q(priority))
        return list(mine.order_by(*deadline).values_list("pk", flat=True)[:SWEEP_BATCH])

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
    # Telephony (issue 12): an offer the app has not opened, an elder who has not answered the
    # visit confirmation. (A call-out's call that is never heard of again is ended by the
    # notification log's sweep, backend/telephony/services.py.)
    yield (
        "offers_texted",
        lambda: _ids(offer_sms.offers_unopened(), "sent_at", priority="request__priority"),
        lambda pk: offer_sms.offer_sms_send(offer_id=pk),
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
        "visit_confirmations_unanswered",
        lambda: _ids(
            visit_confirmation.visit_confirmations_overdue(),
            "confirmation_due_at",
            priority="request__priority",
        ),
        lambda pk: visit_confirmation.visit_confirmation_overdue(visit_id=pk),
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


def _sweep(now: datetime, *, urgent: bool) -> dict[str, int]:
    return steps_run(_steps(now, urgent=urgent))
