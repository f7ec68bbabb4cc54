"""Visits as electronic visit verification: check-in at the door, check-out, exceptions."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import RuleViolation, StateConflict, require_code
from backend.core.events import event_record
from backend.core.models import Event
from elders.models import Elder
from elders.services import access_grant_revoke
from providers.models import Worker
from providers.selectors import (
    provider_price,
)
from providers.services import worker_jobs_adjust

from ..client_clock import ClientClock, client_clock_read
from ..escalation import alert_raise
from ..family import family_text
from ..models import (
    GEOFENCE_EXCEPTION_REASONS,
    LATE_SYNC,
    VISIT_EXCEPTION_RESOLUTIONS,
    WELFARE_CHECK,
    WELFARE_OUTCOMES_ALERTED,
    ExceptionState,
    Priority,
    RequestState,
    ServiceRequest,
    Visit,
    WelfareOutcome,
)
from ..selectors import no_show_of
from ..transitions import VISIT_EXCEPTION_TRANSITIONS, next_state
from ..visit_confirmation import visit_confirmation_ask
from ._core import (
    RequestNotFound,
    _credit,
    _display_tz,
    _grant_reference,
    _knobs,
    _lock,
    _lock_assigned,
    _lock_request,
    _request_move,
    _visit_move,
    log,
)


@dataclass(frozen=True)
class CheckIn:
    visit: Visit
    distance_m: float


class CheckInAfterNoShow(StateConflict):
    """409: the job was treated as a no-show before this check-in arrived. The late check-in is
    itself a fact (recorded, and an alert raised for a person to reconcile), so its changes
    commit with the refusal (`keeps_changes`, backend/core/idempotency.py)."""

    keeps_changes = True


def visit_check_in(
    *,
    request_id: int,
    user: User,
    point: Point,
    exception_reason: str = "",
    client_at: datetime | None = None,
    client_sent_at: datetime | None = None,
) -> CheckIn:
    """Start the visit record at the door, from `ANXIN_EARLY_CHECK_IN_H` before the window
    opens. Outside the geofence it is refused with the distance, unless the worker gives a
    reason code: then it is recorded as an exception for a supervisor to approve or reject,
    and the visit is not verified until it is approved. `client_at` (the phone's time, for a
    check-in sent late) is kept beside the server's, on the server's clock when the phone says
    when it sent it (`client_sent_at`, dispatch/client_clock.py); a large offline gap is an
    exception too (`late_sync`). From the worker the sweeper already treated as a no-show, it is
    refused (409 `treated_as_no_show`) and recorded for the operators: see
    `_check_in_after_no_show`."""
    with transaction.atomic():
        sr = _lock_request(request_id, with_worker=True)
        worker = sr.assigned_worker if sr is not None else None
        if sr is None or worker is None or worker.user_id != user.pk:
            refusal = _check_in_after_no_show(sr, user, point, client_at, client_sent_at)
        else:
            clock = client_clock_read(client_at, client_sent_at, timezone.now())
            return _check_in(sr, worker, user, point, exception_reason, clock)
    raise refusal


def _check_in(
    sr: ServiceRequest,
    worker: Worker,
    user: User,
    point: Point,
    exception_reason: str,
    clock: ClientClock,
) -> CheckIn:
    """Precondition: `sr` is locked and assigned to `worker`, whose user is `user`."""
    if sr.state not in (RequestState.ASSIGNED, RequestState.EN_ROUTE):
        raise StateConflict(
            _("Cannot check in: the request is %(state)s.") % {"state": sr.state},
            current_state=sr.state,
            code="request_state_conflict",
        )
    _refuse_early(sr)
    elder, distance = _from_home(sr.elder_id, point)
    limit = _knobs()["GEOFENCE_M"]
    outside = distance > limit
    if outside and not exception_reason:
        log.info("check_in_refused", request=sr.pk, distance_m=distance, geofence_m=limit)
        raise RuleViolation(
            _(
                "You are %(distance)s m from the home; check in within %(limit)s m, or "
                "give an exception_reason."
            )
            % {"distance": f"{distance:.0f}", "limit": limit},
            code="outside_geofence",
            distance_m=distance,
            geofence_m=limit,
            exception_reasons=GEOFENCE_EXCEPTION_REASONS,
        )
    now = timezone.now()
    reason = exception_reason if outside else (LATE_SYNC if clock.late_sync else "")
    price = provider_price(provider_id=worker.provider_id, service_code=sr.service_type.code)
    visit = Visit.objects.create(
        price=price.price if price else None,
        price_unit=price.unit if price else "",
        subsidy_share=Decimal(str(_knobs()["SUBSIDY_SHARE"]))
        if price and price.subsidised
        else Decimal(0),
        exception_reason=reason,
        exception_state=ExceptionState.PENDING if reason else "",
        request=sr,
        worker=worker,
        elder_id=sr.elder_id,
        service_type_id=sr.service_type_id,
        checked_in_at=now,
        client_checked_in_at=clock.at,
        check_in_point=point,
        check_in_distance_m=distance,
    )
    _request_move(
        sr,
        "check_in",
        actor=user,
        arrived_at=visit.checked_in_at,
        data={
            "visit": visit.pk,
            "distance_m": distance,
            "exception_reason": visit.exception_reason,
            **clock.facts,
        },
    )
    if visit.checked_in_at > sr.arrive_due_at:  # the service's arrival target
        _credit(worker.pk, "late_arrival", f"visit:{visit.pk}")
    visit_confirmation_ask(sr, visit)
    _notify_family(sr, visit, elder, arrived=True, at=visit.checked_in_at)
    return CheckIn(visit=visit, distance_m=distance)


def _check_in_after_no_show(
    sr: ServiceRequest | None,
    user: User,
    point: Point,
    client_at: datetime | None,
    client_sent_at: datetime | None,
) -> CheckInAfterNoShow:
    """The no-show race, defined: a check-in (often one the phone kept offline) that arrives
    after the sweeper treated the job as the user's no-show and gave it back to dispatch is
    refused, not lost. The late check-in is recorded (`visit.late_check_in`: the phone's time,
    where, how far from the home, the worker, the no-show's time) and the operators are alerted
    (`late_check_in`) to reconcile the no-show on the credit record. A replay of the same
    check-in is recorded once. Anyone else is told there is no such job (404).

    Precondition: `sr` (None when there is no such request) is locked."""
    no_show = no_show_of(request_id=sr.pk, user=user) if sr is not None else None
    if sr is None or no_show is None:
        raise RequestNotFound(_("No such request among your jobs."))
    worker_id = no_show.data["worker"]
    _elder, distance = _from_home(sr.elder_id, point)
    clock = client_clock_read(client_at, client_sent_at, timezone.now()).facts
    # A replay is the same check-in: the same phone time, as the phone's clock read it.
    same_time = (
        {"data__client_at": clock["client_at"]} if clock else {"data__client_at__isnull": True}
    )
    seen = Event.objects.filter(
        subject_type="request",
        subject_id=sr.pk,
        kind="visit.late_check_in",
        data__worker=worker_id,
        **same_time,
    )
    if not seen.exists():
        facts = {
            "worker": worker_id,
            "no_show_at": no_show.at.isoformat(),
            "location": list(point.coords),
            "distance_m": distance,
            **clock,
        }
        event_record(
            kind="visit.late_check_in",
            subject_type="request",
            subject_id=sr.pk,
            actor=user,
            before=sr.state,
            after=sr.state,
            district_id=sr.district_id,
            data={"reference": sr.reference, **facts},
        )
        alert_raise(sr, "late_check_in", data=facts)
    log.info("check_in_after_no_show", request=sr.pk, worker=worker_id)
    local = timezone.localtime(no_show.at, timezone=_display_tz())
    return CheckInAfterNoShow(
        _(
            "This job was treated as a no-show at %(at)s and given back to dispatch; your "
            "check-in is recorded and the operators will reconcile it."
        )
        % {"at": local.strftime("%Y-%m-%d %H:%M")},
        current_state=sr.state,
        code="treated_as_no_show",
        no_show_at=no_show.at,
    )


def _refuse_early(sr: ServiceRequest) -> None:
    """422 naming the window, for a check-in more than `ANXIN_EARLY_CHECK_IN_H` before it
    opens: a visit cannot start (and be paid) hours ahead of when it was asked for."""
    hours = _knobs()["EARLY_CHECK_IN_H"]
    earliest = sr.window_start - timedelta(hours=hours)
    if timezone.now() >= earliest:
        return

    def local(at: datetime) -> str:
        return timezone.localtime(at, timezone=_display_tz()).strftime("%Y-%m-%d %H:%M")

    log.info("check_in_refused_early", request=sr.pk)
    raise RuleViolation(
        _(
            "The visit's window opens at %(opens)s (%(zone)s); check in from %(earliest)s, "
            "%(hours)s h before it, at the earliest."
        )
        % {
            "opens": local(sr.window_start),
            "zone": _display_tz().key,
            "earliest": local(earliest),
            "hours": f"{hours:g}",
        },
        code="check_in_too_early",
        window_start=sr.window_start,
        window_end=sr.window_end,
        earliest_check_in=earliest,
        early_check_in_h=hours,
    )


def _from_home(elder_id: int, point: Point) -> tuple[Elder, float]:
    """The elder, and how far `point` (WGS-84) is from their home, in metres."""
    elder = (
        Elder.objects.only("pk", "full_name")
        .annotate(d=Distance("location", point))
        .get(pk=elder_id)
    )
    return elder, round(elder.d.m, 1)


def visit_exception_decide(
    *, visit_id: int, user: User, approve: bool, resolution: str, note: str = ""
) -> Visit:
    """A supervisor decides a check-in recorded outside the geofence, with a resolution code
    that fits the decision. Approved, the visit counts as verified once checked out (and is
    credited then, or now if it already is). Rejected, it never counts: no verified-visit credit,
    no subsidy (its share becomes 0; the event keeps what it was), and `verified` stays false, so
    settlement leaves it out."""
    event = "approve" if approve else "reject"
    decision = ExceptionState.APPROVED if approve else ExceptionState.REJECTED
    require_code(
        resolution,
        VISIT_EXCEPTION_RESOLUTIONS[decision],
        field="resolution",
        message=_("%(resolution)s does not resolve an exception as %(decision)s.")
        % {"resolution": resolution, "decision": decision},
        code="resolution_not_allowed",
    )
    with transaction.atomic():
        # The work order first, as check-out takes it: an approval racing the check-out cannot
        # leave a verified visit uncredited.
        sr = _lock(Visit.objects.values_list("request_id", flat=True).get(pk=visit_id))
        visit = Visit.objects.select_for_update().get(pk=visit_id)
        before = visit.exception_state
        after = next_state(VISIT_EXCEPTION_TRANSITIONS, before, event)
        if after is None:
            raise StateConflict(
                _("No pending exception on this visit."),
                current_state=before or "none",
                code="no_pending_exception",
            )
        share = visit.subsidy_share
        if after == ExceptionState.REJECTED:
            visit.subsidy_share = Decimal("0.00")
        visit.exception_state = after
        visit.exception_resolution, visit.exception_note = resolution, note
        visit.exception_decided_by = user
        visit.save(
            update_fields=[
                "exception_state",
                "exception_resolution",
                "exception_note",
                "exception_decided_by",
                "subsidy_share",
            ]
        )
        event_record(
            kind=f"visit.exception_{after}",
            subject_type="visit",
            subject_id=visit.pk,
            actor=user,
            before=before,
            after=after,
            district_id=sr.district_id,
            data={
                "request": sr.pk,
                "resolution": resolution,
                "note": note,
                "subsidy_share": {"before": str(share), "after": str(visit.subsidy_share)},
            },
        )
        _credit_if_verified(visit)
    return visit


def visit_check_out(
    *,
    request_id: int,
    user: User,
    point: Point,
    welfare_outcome: str = "",
    client_at: datetime | None = None,
    client_sent_at: datetime | None = None,
) -> Visit:
    """End the visit record where the worker is (`point`, WGS-84, and its distance from the
    home are kept for review). The verified-visit credit is recorded now if the visit is
    verified; with a pending exception, only when a supervisor approves it. `client_at` as at
    check-in: a large gap makes a visit with no exception yet a `late_sync` one (an exception
    already there is kept, and the event records the gap)."""
    with transaction.atomic():
        sr, worker = _lock_assigned(request_id, user)
        if sr.state != RequestState.ON_SITE:
            raise StateConflict(
                _("Cannot check out: the request is %(state)s.") % {"state": sr.state},
                current_state=sr.state,
                code="request_state_conflict",
            )
        visit = Visit.objects.get(request=sr)
        is_welfare = sr.service_type.code == WELFARE_CHECK
        if is_welfare and not welfare_outcome:
            raise RuleViolation(
                _("A welfare check records what it found."),
                code="welfare_outcome_required",
                fields={
                    "welfare_outcome": [
                        _("one of %(codes)s") % {"codes": ", ".join(WelfareOutcome.values)}
                    ]
                },
            )
        elder, distance = _from_home(sr.elder_id, point)
        checked_out = timezone.now()
        clock = client_clock_read(client_at, client_sent_at, checked_out)
        flagged = {}
        if clock.late_sync and not visit.exception_state:
            flagged = {"exception_reason": LATE_SYNC, "exception_state": ExceptionState.PENDING}
        _visit_move(
            visit,
            "check_out",
            checked_out_at=checked_out,
            client_checked_out_at=clock.at,
            check_out_point=point,
            check_out_distance_m=distance,
            welfare_outcome=welfare_outcome if is_welfare else "",
            **flagged,
        )
        if welfare_outcome in WELFARE_OUTCOMES_ALERTED:
            alert_raise(sr, f"welfare_{welfare_outcome}", visit=visit)
        _request_move(
            sr,
            "check_out",
            actor=user,
            data={
                "visit": visit.pk,
                "distance_m": distance,
                "exception_reason": visit.exception_reason,
                **clock.facts,
            },
        )
        if sr.priority == Priority.EMERGENCY:  # a named operator records how it ended
            alert_raise(sr, "emergency_outcome", visit=visit)
        worker_jobs_adjust(worker_id=worker.pk, delta=-1)
        access_grant_revoke(reference=_grant_reference(sr))
        _credit_if_verified(visit)
        _notify_family(sr, visit, elder, arrived=False, at=checked_out)
        return visit


def _credit_if_verified(visit: Visit) -> None:
    """The verified-visit credit, once the visit is verified (`Visit.verified`, computed by the
    database): at check-out, or at the approval of its exception if that comes later. Recorded
    once whichever comes last; a visit whose exception is rejected never earns it."""
    visit.refresh_from_db(fields=["verified"])
    if visit.verified:
        _credit(visit.worker_id, "verified_visit", f"visit:{visit.pk}")


def _notify_family(
    sr: ServiceRequest, visit: Visit, elder: Elder, *, arrived: bool, at: datetime
) -> None:
    local = timezone.localtime(at, timezone=_display_tz()).strftime("%H:%M")
    kind = "check_in" if arrived else "check_out"
    family_text(
        sr,
        kind="visit",  # elders.models.SmsKind.VISIT
        event=f"visit.{kind}:{visit.pk}",
        template=f"sms.visit_{kind}",
        elder_name=elder.full_name,
        time=local,
    )
