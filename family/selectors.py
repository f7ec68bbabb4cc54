"""What the family page shows: the family member's own elders and their visits, read through
the selectors that decide what the API shows a family member."""

from dataclasses import dataclass, field

from django.db.models import Prefetch

from backend.accounts.models import User
from dispatch.models import OPEN_REQUEST_STATES, Complaint, ServiceRequest
from dispatch.selectors import requests_visible_to
from elders.models import Elder
from elders.selectors import elders_visible_to

PAST_SHOWN = 20  # past requests per elder


@dataclass
class ElderVisits:
    elder: Elder
    upcoming: list[ServiceRequest] = field(default_factory=list)
    past: list[ServiceRequest] = field(default_factory=list)


def _my_complaints(user: User) -> Prefetch:
    """Each row's complaints that this member made, as `my_complaints` (oldest first)."""
    return Prefetch(
        "complaints",
        queryset=Complaint.objects.filter(opened_by=user).order_by("opened_at", "pk"),
        to_attr="my_complaints",
    )


def family_elders_visits(user: User, *, elder_id: int | None = None) -> list[ElderVisits]:
    """Each of the user's elders (by name) with their open requests (soonest first) and the
    last `PAST_SHOWN` ended ones (latest first), each with its `feedback` and the complaints
    this member made (`my_complaints`)."""
    visible = elders_visible_to(user)
    if elder_id is not None:  # one of them (none if it is not theirs)
        visible = visible.filter(pk=elder_id)
    elders = list(visible.order_by("full_name", "pk"))
    shown = {elder.pk: ElderVisits(elder) for elder in elders}
    mine = (
        requests_visible_to(user)
        .filter(elder_id__in=list(shown))
        .select_related("feedback")
        .prefetch_related(_my_complaints(user))
    )
    for row in mine.filter(state__in=OPEN_REQUEST_STATES).order_by("window_start", "pk"):
        shown[row.elder_id].upcoming.append(row)
    ended = mine.exclude(state__in=OPEN_REQUEST_STATES).order_by("-window_start", "-pk")
    for elder_id, visits in shown.items():  # a family has one elder or two
        visits.past = list(ended.filter(elder_id=elder_id)[:PAST_SHOWN])
    return list(shown.values())
