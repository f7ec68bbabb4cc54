"""Writes of the dispatch app, by part: `_core` (the one place states change), `intake`
(requests, matching, offers), `actions` (after intake), `visits` (check-in and check-out)."""

from ._core import NotAllowed, RequestNotFound, _lock, _lock_request, _request_move
from .actions import (
    UNACCEPTED_STATES,
    request_accept_missed,
    request_arrive_missed,
    request_cancel,
    request_close,
    request_close_after_quiet_period,
    request_dispatch_candidate,
    request_fail,
    request_give_up,
    request_no_show,
    request_override_assign,
    request_retry,
    request_set_out,
)
from .intake import (
    offer_accept,
    offer_decline,
    offer_expire,
    ranked_candidates,
    request_assign_worker,
    request_match,
    service_request_create,
)
from .reads import request_care_notes_read
from .visits import visit_check_in, visit_check_out, visit_exception_decide

__all__ = [
    "UNACCEPTED_STATES",
    "NotAllowed",
    "RequestNotFound",
    "_lock",
    "_lock_request",
    "_request_move",
    "offer_accept",
    "offer_decline",
    "offer_expire",
    "ranked_candidates",
    "request_accept_missed",
    "request_arrive_missed",
    "request_assign_worker",
    "request_cancel",
    "request_care_notes_read",
    "request_close",
    "request_close_after_quiet_period",
    "request_dispatch_candidate",
    "request_fail",
    "request_give_up",
    "request_match",
    "request_no_show",
    "request_override_assign",
    "request_retry",
    "request_set_out",
    "service_request_create",
    "visit_check_in",
    "visit_check_out",
    "visit_exception_decide",
]
