"""The life of a work order, an offer and a visit: explicit tables, read in one place.

A work order's table maps (from state, event) to (to state, who may cause it). Who is one of
`system` (timers, matching), `operator` (district staff), `worker`, `family`, `provider` (a
provider's admin); `services._request_move` checks both columns.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from .models import (
    CallAttemptState,
    CallOutState,
    ExceptionState,
    OfferState,
    RequestState,
    VisitConfirmation,
    VisitState,
)

if TYPE_CHECKING:
    from backend.accounts.models import User

T = TypeVar("T")

R = RequestState
SYSTEM, OPERATOR, WORKER, FAMILY, PROVIDER = "system", "operator", "worker", "family", "provider"

REQUEST_TRANSITIONS: dict[tuple[str, str], tuple[str, frozenset[str]]] = {
    (R.NEW, "match"): (R.MATCHING, frozenset({SYSTEM})),
    (R.ESCALATED, "match"): (R.MATCHING, frozenset({SYSTEM, OPERATOR})),
    (R.MATCHING, "offer"): (R.OFFERED, frozenset({SYSTEM})),
    (R.MATCHING, "exhaust"): (R.ESCALATED, frozenset({SYSTEM})),
    (R.OFFERED, "rematch"): (R.MATCHING, frozenset({SYSTEM})),
    (R.OFFERED, "escalate"): (R.ESCALATED, frozenset({SYSTEM})),
    (R.OFFERED, "accept"): (R.ASSIGNED, frozenset({WORKER, PROVIDER})),
    (R.OFFERED, "override_assign"): (R.ASSIGNED, frozenset({OPERATOR})),
    (R.ESCALATED, "override_assign"): (R.ASSIGNED, frozenset({OPERATOR})),
    (R.ASSIGNED, "assign_worker"): (R.ASSIGNED, frozenset({PROVIDER})),
    (R.ASSIGNED, "set_out"): (R.EN_ROUTE, frozenset({WORKER})),
    (R.ASSIGNED, "check_in"): (R.ON_SITE, frozenset({WORKER})),
    (R.EN_ROUTE, "check_in"): (R.ON_SITE, frozenset({WORKER})),
    (R.ASSIGNED, "no_show"): (R.MATCHING, frozenset({SYSTEM})),
    (R.EN_ROUTE, "no_show"): (R.MATCHING, frozenset({SYSTEM})),
    (R.ON_SITE, "check_out"): (R.COMPLETED, frozenset({WORKER})),
    (R.COMPLETED, "close"): (R.CLOSED, frozenset({SYSTEM, OPERATOR})),
    (R.ESCALATED, "fail"): (R.FAILED, frozenset({SYSTEM, OPERATOR})),
    **{
        (state, "cancel"): (R.CANCELLED, frozenset({OPERATOR, FAMILY}))
        for state in (R.NEW, R.MATCHING, R.OFFERED, R.ASSIGNED, R.EN_ROUTE, R.ESCALATED)
    },
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

# A geofence exception is decided once, by a supervisor or district administrator.
E = ExceptionState
VISIT_EXCEPTION_TRANSITIONS: dict[tuple[str, str], str] = {
    (E.PENDING, "approve"): E.APPROVED,
    (E.PENDING, "reject"): E.REJECTED,
}

# The elder's answer to "has your caregiver arrived?", asked once at check-in.
VC = VisitConfirmation
VISIT_CONFIRMATION_TRANSITIONS: dict[tuple[str, str], str] = {
    ("", "ask"): VC.PENDING,
    (VC.PENDING, "confirm"): VC.CONFIRMED,
    (VC.PENDING, "deny"): VC.DENIED,
    (VC.PENDING, "no_answer"): VC.NO_ANSWER,
}

# An emergency call-out: the first contact to press 1 takes responsibility, even one whose
# call ended late (after the call-out moved on, ran out of numbers, or was stopped).
CO = CallOutState
CALLOUT_TRANSITIONS: dict[tuple[str, str], str] = {
    (CO.CALLING, "take"): CO.TAKEN,
    (CO.NOBODY, "take"): CO.TAKEN,
    (CO.STOPPED, "take"): CO.TAKEN,
    (CO.CALLING, "exhaust"): CO.NOBODY,
    (CO.CALLING, "stop"): CO.STOPPED,
}
CA = CallAttemptState
CALL_ATTEMPT_TRANSITIONS: dict[tuple[str, str], str] = {
    (CA.WAITING, "dial"): CA.CALLING,
    (CA.WAITING, "skip"): CA.SKIPPED,
    (CA.CALLING, "take"): CA.TAKEN,
    (CA.TIMED_OUT, "take"): CA.TAKEN,
    (CA.CALLING, "not_taken"): CA.NOT_TAKEN,
    (CA.CALLING, "time_out"): CA.TIMED_OUT,
}


def next_state(table: Mapping[tuple[str, str], T], state: str, event: str) -> T | None:
    return table.get((state, event))


def actor_kind(user: "User | None") -> str:
    """Which column of the table a user acts in."""
    if user is None:
        return SYSTEM
    return {
        "operator": OPERATOR,
        "supervisor": OPERATOR,
        "district_admin": OPERATOR,
        "worker": WORKER,
        "family": FAMILY,
        "provider_admin": PROVIDER,
    }[user.role]
