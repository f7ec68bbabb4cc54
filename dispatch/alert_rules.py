"""The rules of resolving an operator alert: the codes that fit each kind, what each means to a
person, and what follows a resolved alert when its condition is found again. Read by
escalation (the rules' one user that changes rows), the API's input and the console."""

from django.utils.translation import gettext_lazy

# How an operator may resolve each kind of alert. `request_ended` is recorded when the work
# order ends with the alert still open (by whoever ended it); an emergency's
# `emergency_outcome` is resolved by closing the request with its outcome.
ALERT_RESOLUTIONS = {
    "no_worker": {
        "operator_assigned",
        "sent_back_to_matching",
        "handled_by_phone",
        "handed_to_120",
        "other",
    },
    "non_arrival": {"operator_assigned", "sent_back_to_matching", "worker_arrived_late", "other"},
    "late_arrival": {
        "worker_on_the_way",
        "operator_assigned",
        "worker_arrived_late",
        "handled_by_phone",
        "handed_to_120",
        "other",
    },
    "missing_check_out": {
        "worker_forgot_check_out",
        "visit_extended",
        "worker_unreachable",
        "other",
    },
    "welfare_no_answer": {
        "elder_found_well",
        "family_confirmed_well",
        "door_opened_with_police",
        "elder_in_hospital",
        "other",
    },
    "welfare_needs_help": {"service_arranged", "family_informed", "handed_to_120", "other"},
    "emergency_outcome": {"outcome_recorded"},
    "callout_unanswered": {"handed_to_120", "family_reached", "handled_by_phone", "other"},
    "visit_denied": {"worker_on_site_confirmed", "elder_mistaken", "visit_not_verified", "other"},
    # Resolved as `caller_answered` by the operator who takes the call (hotline.services).
    "caller_waiting": {"caller_answered", "called_back", "handed_to_120", "other"},
    # A worker's check-in (sent late from the phone) after the sweeper had treated the job as a
    # no-show: a person decides whether the no-show stands on the worker's credit record.
    "late_check_in": {"no_show_upheld", "no_show_withdrawn", "other"},
}

# An emergency's outcome alert is resolved by closing its request with the outcome, never by hand.
RESOLVED_BY_CLOSING = "outcome_recorded"


def alert_resolutions_by_hand(kind: str) -> frozenset[str]:
    """The codes an operator may resolve an alert of `kind` with."""
    return frozenset(ALERT_RESOLUTIONS[kind] - {RESOLVED_BY_CLOSING})


# What each resolution code means, for people (the console shows these; the API takes the codes).
ALERT_RESOLUTION_LABELS = {
    "operator_assigned": gettext_lazy("An operator assigned a worker"),
    "sent_back_to_matching": gettext_lazy("Sent back to matching"),
    "handled_by_phone": gettext_lazy("Handled by phone"),
    "handed_to_120": gettext_lazy("Handed to 120"),
    "worker_arrived_late": gettext_lazy("The worker arrived late"),
    "worker_on_the_way": gettext_lazy("The worker is on the way"),
    "worker_forgot_check_out": gettext_lazy("The worker forgot to check out"),
    "visit_extended": gettext_lazy("The visit was extended"),
    "worker_unreachable": gettext_lazy("The worker cannot be reached"),
    "elder_found_well": gettext_lazy("The elder was found well"),
    "family_confirmed_well": gettext_lazy("The family confirmed the elder is well"),
    "door_opened_with_police": gettext_lazy("The door was opened with the police"),
    "elder_in_hospital": gettext_lazy("The elder is in hospital"),
    "service_arranged": gettext_lazy("A service was arranged"),
    "family_informed": gettext_lazy("The family was told"),
    "outcome_recorded": gettext_lazy("The emergency's outcome was recorded"),
    "family_reached": gettext_lazy("The family was reached"),
    "worker_on_site_confirmed": gettext_lazy("The worker was confirmed on site"),
    "elder_mistaken": gettext_lazy("The elder was mistaken"),
    "visit_not_verified": gettext_lazy("The visit could not be verified"),
    "caller_answered": gettext_lazy("The caller was answered"),
    "called_back": gettext_lazy("The caller was called back"),
    "no_show_upheld": gettext_lazy("The no-show stands"),
    "no_show_withdrawn": gettext_lazy(
        "The worker was there: correct the no-show on their credit record"
    ),
    "other": gettext_lazy("Other (see the note)"),
}

# What follows a resolved alert when the condition that raised it is found again, by (kind,
# resolution); anything not listed may be raised again at once, as a new episode (a request
# escalated a second time after a no-show is a new matter). `None`: never again for that
# request and visit (the operator took the matter in hand). ALERT_SILENCE_AFTER_GRACE: not
# before one more grace period (ANXIN["MISSING_CHECK_OUT_GRACE_M"]) has passed since the
# resolution.
ALERT_SILENCE_AFTER_GRACE = "grace"
ALERT_FOLLOW_UP = {
    ("missing_check_out", "visit_extended"): ALERT_SILENCE_AFTER_GRACE,
    ("missing_check_out", "worker_unreachable"): ALERT_SILENCE_AFTER_GRACE,
    ("missing_check_out", "worker_forgot_check_out"): None,
    ("missing_check_out", "other"): None,
}
