"""What the family page shows: the family member's own elders and their visits, read through
the selectors that decide what the API shows a family member."""

from dataclasses import dataclass, field

from backend.accounts.models import User
from dispatch.models import OPEN_REQUEST_STATES, ServiceRequest
from dispatch.selectors import requests_visible_to
from elders.models import Elder
from elders.selectors import elders_visible_to

PAST_SHOWN = 20  # past requests per elder


@dataclass
class ElderVisits:
    elder: Elder
    upcoming: list[ServiceRequest] = field(default_factory=list)
    past: list[ServiceRequest] = field(default_factory=list)


def family_elders_visits(user: User) -> list[ElderVisits]:
    """Each of the user's elders (by name) with their open requests (soonest first) and the
    last `PAST_SHOWN` ended ones (latest first)."""
    elders = list(elders_visible_to(user).order_by("full_name", "pk"))
    shown = {elder.pk: ElderVisits(elder) for elder in elders}
    mine = requests_visible_to(user).filter(elder_id__in=list(shown))
    for row in mine.filter(state__in=OPEN_REQUEST_STATES).order_by("window_start", "pk"):
        shown[row.elder_id].upcoming.append(row)
    ended = mine.exclude(state__in=OPEN_REQUEST_STATES).order_by("-window_start", "-pk")
    for elder_id, visits in shown.items():  # a family has one elder or two
        visits.past = list(ended.filter(elder_id=elder_id)[:PAST_SHOWN])
    return list(shown.values())
