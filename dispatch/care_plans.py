"""Care plans (elders.CareNeed) become work orders: one per (plan entry, occurrence), the
database refusing a second, so running the generator twice, or on two workers at once, makes
nothing new."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog
from dateutil.rrule import rrulestr
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from elders.models import CareNeed, ElderStatus

from . import services
from .models import Channel, ServiceRequest, ServiceType

log = structlog.get_logger(__name__)


def occurrences(need: CareNeed, *, start: datetime, end: datetime) -> list[datetime]:
    """Occurrences of the entry's RRULE in [start, end), read in the display time zone
    (a lunch 'every day at 11:30' is 11:30 in Shanghai), returned in UTC."""
    tz = ZoneInfo(settings.DISPLAY_TIME_ZONE)
    dtstart = datetime.combine(need.starts_on, time(0, 0), tzinfo=tz)
    rule = rrulestr(need.rrule, dtstart=dtstart)
    found = []
    for occ in rule.between(start.astimezone(tz), end.astimezone(tz), inc=True):
        if occ >= end or (need.ends_on and occ.date() > need.ends_on):
            continue
        found.append(occ.astimezone(ZoneInfo("UTC")))
    return found


def care_plans_generate(*, horizon: timedelta = timedelta(hours=36)) -> int:
    """Create the work orders of every active care-plan entry due within `horizon`."""
    now = timezone.now()
    types = {t.code: t for t in ServiceType.objects.all()}
    created = 0
    needs = (
        CareNeed.objects.filter(active=True, starts_on__lte=(now + horizon).date())
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=now.date()))
        .select_related("elder")
        .filter(elder__status=ElderStatus.ACTIVE)
    )
    for need in needs:
        service_type = types.get(need.service_code)
        if service_type is None:
            log.warning("care_need_unknown_service", care_need=need.pk)
            continue
        done = set(
            ServiceRequest.objects.filter(care_need=need).values_list("occurrence", flat=True)
        )
        for occ in occurrences(need, start=now, end=now + horizon):
            if occ in done:
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
