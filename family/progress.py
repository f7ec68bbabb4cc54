"""A visit under way, as a family follows it: five steps in words a family uses, and which the
work order has reached. The work order's own states stay the record; this only groups them
(the states before anyone accepts are one step to a family: someone is being found)."""

from django.utils.translation import gettext_lazy as _

from dispatch.models import RequestState as S

STEPS = (
    (_("Finding a caregiver"), {S.NEW, S.MATCHING, S.OFFERED, S.ESCALATED}),
    (_("Caregiver found"), {S.ASSIGNED}),
    (_("On the way"), {S.EN_ROUTE}),
    (_("At the door"), {S.ON_SITE}),
    (_("Done"), {S.COMPLETED, S.CLOSED}),
)


def visit_progress(state: str) -> list[tuple[str, bool, bool]]:
    """(label, reached, current) per step; empty for a visit that is not under way (failed,
    cancelled, or not on the steps)."""
    at = next((n for n, (_label, states) in enumerate(STEPS) if state in states), None)
    if at is None:
        return []
    return [(str(label), n <= at, n == at) for n, (label, _states) in enumerate(STEPS)]
