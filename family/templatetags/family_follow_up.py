"""What the family page offers on a visit: rate it (finished, not yet rated) and complain
(under way or past, no complaint of this member's still open). The states come from
dispatch.follow_up, whose services refuse the same cases."""

from django import template

from dispatch.follow_up import NOT_YET_COMPLAINED_OF, RATED_STATES
from dispatch.models import ComplaintState, ServiceRequest

register = template.Library()


@register.filter
def may_rate(row: ServiceRequest) -> bool:
    return row.state in RATED_STATES and getattr(row, "feedback", None) is None


@register.filter
def may_complain(row: ServiceRequest) -> bool:
    mine = getattr(row, "my_complaints", [])
    return row.state not in NOT_YET_COMPLAINED_OF and not any(
        complaint.state == ComplaintState.OPEN for complaint in mine
    )
