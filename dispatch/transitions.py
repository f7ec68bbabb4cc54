"""The life of a work order, an offer and a visit: explicit tables, read in one place.

Each entry is (from state, event) -> to state. Who may cause an event is checked by the service
that causes it (an operator cancels; only the assigned worker checks in); the table answers
only whether the change is allowed from where the row stands now.
"""

from .models import OfferState, RequestState, VisitState

R = RequestState
REQUEST_TRANSITIONS: dict[tuple[str, str], str] = {
    (R.NEW, "match"): R.MATCHING,
    (R.ESCALATED, "match"): R.MATCHING,
    (R.MATCHING, "offer"): R.OFFERED,
    (R.MATCHING, "exhaust"): R.ESCALATED,
    (R.OFFERED, "rematch"): R.MATCHING,
    (R.OFFERED, "accept"): R.ASSIGNED,
    (R.ASSIGNED, "assign_worker"): R.ASSIGNED,
    (R.ASSIGNED, "check_in"): R.ON_SITE,
    (R.ON_SITE, "check_out"): R.COMPLETED,
    (R.NEW, "cancel"): R.CANCELLED,
    (R.MATCHING, "cancel"): R.CANCELLED,
    (R.OFFERED, "cancel"): R.CANCELLED,
    (R.ASSIGNED, "cancel"): R.CANCELLED,
    (R.ESCALATED, "cancel"): R.CANCELLED,
}

OS = OfferState
OFFER_TRANSITIONS: dict[tuple[str, str], str] = {
    (OS.PENDING, "accept"): OS.ACCEPTED,
    (OS.PENDING, "decline"): OS.DECLINED,
    (OS.PENDING, "expire"): OS.EXPIRED,
    (OS.PENDING, "withdraw"): OS.WITHDRAWN,
}

V = VisitState
VISIT_TRANSITIONS: dict[tuple[str, str], str] = {
    (V.ON_SITE, "check_out"): V.COMPLETED,
}


def next_state(table: dict[tuple[str, str], str], state: str, event: str) -> str | None:
    return table.get((state, event))
