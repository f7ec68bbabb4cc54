"""Care plans (elders.CareNeed) become work orders: one per (plan entry, occurrence), the
database refusing a second, so running the generator twice, or on two workers at once, makes
nothing new.

A run is bounded: each entry's rule within `elders.care_rules` (an entry out of bounds is skipped
and logged), at most a day's worth of occurrences per entry (`care_rules.MAX_PER_DAY` a day),
at most `ANXIN_CARE_PLAN_MAX_PER_RUN` requests, soonest first, and no longer than
`ANXIN_CARE_PLAN_RUN_S`; what is left is made by the next run. It runs from beat on its own
queue, never inside the sweeper."""

import heapq
import math
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from elders.care_rules import MAX_PER_DAY, CareRuleInvalid, care_rule_occurrences
from elders.models import CareNeed, ElderStatus

from . import services
from .models import Channel, ServiceRequest, ServiceType

log = structlog.get_logger(__name__)

CHUNK = 500  # entries read, and their existing requests looked up, at a time


def occurrences(
    need: CareNeed, *, start: datetime, end: datetime, limit: int | None = None
) -> list[datetime]:
    """Occurrences of the entry's RRULE in [start, end), read in the display time zone
    (a lunch 'every day at 11:30' is 11:30 in Shanghai), returned in UTC. CareRuleInvalid for a
    rule out of bounds."""
    if limit is None:
        limit = _per_entry_limit(end - start)
    return care_rule_occurrences(
        need.rrule,
        starts_on=need.starts_on,
        ends_on=need.ends_on,
        start=start,
        end=end,
        tz=ZoneInfo(settings.DISPLAY_TIME_ZONE),
        limit=limit,
    )


def _per_entry_limit(span: timedelta) -> int:
    return MAX_PER_DAY * (math.ceil(span / timedelta(days=1)) + 1)


def care_plans_generate(*, horizon: timedelta = timedelta(hours=36)) -> int:
    """Create the work orders of every active care-plan entry due within `horizon`, soonest
    first, within the run's bounds in count and time. Returns how many it made."""
    knobs = settings.ANXIN
    deadline = time.monotonic() + knobs["CARE_PLAN_RUN_S"]
    now = timezone.now()
    due = _due(now, now + horizon, budget=knobs["CARE_PLAN_MAX_PER_RUN"], deadline=deadline)
    types = {t.code: t for t in ServiceType.objects.all()}
    needs = CareNeed.objects.select_related("elder").in_bulk({pk for _, pk in due})
    created = 0
    for index, (occ, need_id) in enumerate(due):
        if time.monotonic() > deadline:
            log.warning("care_plans_cut_short", made=created, left=len(due) - index)
            break
        need = needs.get(need_id)
        service_type = types.get(need.service_code) if need else None
        if need is None or service_type is None:  # deleted since it was read
            continue
        try:
            with transaction.atomic():
                services.service_request_create(
                    elder=need.elder,
                    service_type=service_type,
                    channel=Channel.SCHEDULED,
                    caller=None,
                    window_start=occ,
                    window_end=occ + timedelta(minutes=need.duration_minutes),
                    notes=need.notes,
                    care_need_id=need.pk,
                    occurrence=occ,
                )
            created += 1
        except IntegrityError:  # another generator made it first
            continue
    return created


def _due(
    start: datetime, end: datetime, *, budget: int, deadline: float
) -> list[tuple[datetime, int]]:
    """The `budget` soonest (occurrence, entry id) in [start, end) with no request yet, in order
    of time. Entries out of bounds, or of a service the catalogue does not have, are logged."""
    codes = set(ServiceType.objects.values_list("code", flat=True))
    limit = _per_entry_limit(end - start)
    soonest: list[tuple[float, int, datetime]] = []  # a max-heap by time, of at most `budget`
    for chunk in _chunks(_active(start, end)):
        made = set(
            ServiceRequest.objects.filter(
                care_need__in=[n.pk for n in chunk], occurrence__gte=start, occurrence__lt=end
            ).values_list("care_need_id", "occurrence")
        )
        for need in chunk:
            if need.service_code not in codes:
                log.warning("care_need_unknown_service", care_need=need.pk)
                continue
            try:
                found = occurrences(need, start=start, end=end, limit=limit)
            except CareRuleInvalid as exc:
                log.warning("care_need_out_of_bounds", care_need=need.pk, reason=str(exc))
                continue
            for occ in found:
                if (need.pk, occ) in made:
                    continue
                heapq.heappush(soonest, (-occ.timestamp(), need.pk, occ))
                if len(soonest) > budget:
                    heapq.heappop(soonest)
        if time.monotonic() > deadline:  # make the soonest of what was read; the rest next run
            log.warning("care_plans_cut_short", reading_stopped_after=chunk[-1].pk)
            break
    return sorted((occ, pk) for _, pk, occ in soonest)


def _active(start: datetime, end: datetime) -> QuerySet[CareNeed]:
    return (
        # Dates in UTC, a day wide each side; occurrences() applies them in local time.
        CareNeed.objects.filter(active=True, starts_on__lte=(end + timedelta(days=1)).date())
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=(start - timedelta(days=1)).date()))
        .filter(elder__status=ElderStatus.ACTIVE)
        .only("pk", "rrule", "starts_on", "ends_on", "service_code")
        .order_by("pk")
    )


def _chunks(needs: QuerySet[CareNeed]) -> Iterator[list[CareNeed]]:
    after = 0
    while chunk := list(needs.filter(pk__gt=after)[:CHUNK]):
        yield chunk
        after = chunk[-1].pk
