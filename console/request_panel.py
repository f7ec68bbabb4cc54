"""What the request panel shows beside the work order itself: its candidates as people (names,
provider, where they are, this request's offer to them), the workers an operator may name past
matching, the points of its small map, and its timeline in words."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.gis.db.models.functions import Distance
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.accounts.models import User
from backend.core.models import Event
from dispatch.models import (
    AlertKind,
    JobOffer,
    OfferState,
    OperatorAlert,
    Outcome,
    RequestState,
    ServiceRequest,
)
from dispatch.ranking import Ranked
from providers.models import ShiftState, Worker, WorkerPosition
from providers.selectors import workers_visible_to

# Workers offered in the override's list: the nearest of the district's workers on shift.
OVERRIDE_CHOICES = 50


# The ranking's terms (dispatch/ranking.py), in words.
_TERMS: dict[str, Promise] = {
    "distance": gettext_lazy("Distance"),
    "continuity": gettext_lazy("Served this elder before"),
    "rating": gettext_lazy("Rating"),
    "fairness": gettext_lazy("Fewest visits today"),
}


@dataclass(frozen=True)
class Term:
    label: str
    value: float
    weight: float
    contribution: float


@dataclass(frozen=True)
class CandidateRow:
    rank: int
    worker: Worker
    ranked: dict[str, Any]  # Ranked.as_dict(): score, distance and every term, as the API shows
    offer: JobOffer | None  # this request's latest offer to them, if any
    at: tuple[float, float] | None  # where they are (WGS-84 lng, lat)

    @property
    def terms(self) -> list[Term]:
        return [
            Term(str(_TERMS.get(name, name)), t["value"], t["weight"], t["contribution"])
            for name, t in self.ranked["terms"].items()
        ]


def candidate_rows(sr: ServiceRequest, ranked: list[Ranked]) -> list[CandidateRow]:
    ids = [r.candidate.worker_id for r in ranked]
    workers = {
        w.pk: w for w in Worker.objects.filter(pk__in=ids).select_related("provider", "position")
    }
    offers: dict[int | None, JobOffer] = {
        offer.worker_id: offer
        for offer in JobOffer.objects.filter(request=sr, worker_id__in=ids).order_by("sent_at")
    }
    rows = []
    for rank, r in enumerate(ranked, 1):
        worker = workers[r.candidate.worker_id]
        position = getattr(worker, "position", None)
        at = (position.point.x, position.point.y) if position is not None else None
        rows.append(CandidateRow(rank, worker, r.as_dict(), offers.get(worker.pk), at))
    return rows


def override_choices(user: User, sr: ServiceRequest) -> list[Worker]:
    """The district's workers on shift with a known position, nearest the elder's home first:
    whom an operator may name past matching (the service checks the district again)."""
    return list(
        workers_visible_to(user)
        .filter(shift_state=ShiftState.ON, position__isnull=False)
        .annotate(distance=Distance("position__point", sr.elder.location))
        .select_related("provider")
        .order_by("distance", "pk")[:OVERRIDE_CHOICES]
    )


def map_points(
    sr: ServiceRequest, elder: dict[str, Any], candidates: list[CandidateRow]
) -> dict[str, Any]:
    """The small map's points, WGS-84 [lng, lat] (console/static/console/map.js converts them
    for GCJ-02 tiles). The elder's home only if the panel shows it (`elder`, the API's view)."""
    home = elder.get("location")
    assigned = None
    if sr.assigned_worker is not None:
        point = (
            WorkerPosition.objects.filter(worker_id=sr.assigned_worker.pk)
            .values_list("point", flat=True)
            .first()
        )
        if point is not None:
            assigned = {"name": sr.assigned_worker.full_name, "at": [point.x, point.y]}
    return {
        "elder": list(home["coordinates"]) if home else None,
        "elder_name": elder.get("full_name", ""),
        "candidates": [
            {"rank": c.rank, "name": c.worker.full_name, "at": list(c.at)}
            for c in candidates
            if c.at is not None
        ],
        "assigned": assigned,
    }


# The timeline ---------------------------------------------------------------------------------

_OFFER_WORDS: dict[str, Promise] = {
    "created": gettext_lazy("Offered to %(worker)s"),
    "opened": gettext_lazy("%(worker)s opened the offer"),
    "texted": gettext_lazy("Offer sent by SMS to %(worker)s"),
    OfferState.ACCEPTED: gettext_lazy("%(worker)s accepted the offer"),
    OfferState.DECLINED: gettext_lazy("%(worker)s declined the offer"),
    OfferState.EXPIRED: gettext_lazy("The offer to %(worker)s expired"),
    OfferState.WITHDRAWN: gettext_lazy("The offer to %(worker)s was withdrawn"),
}
_ALERT_WORDS: dict[str, Promise] = {
    "raised": gettext_lazy("Alert raised: %(kind)s"),
    "acknowledged": gettext_lazy("Alert taken: %(kind)s"),
    "resolved": gettext_lazy("Alert resolved: %(kind)s"),
    "resent": gettext_lazy("Alert sent again: %(kind)s"),
}
_OTHER_WORDS: dict[str, Promise] = {
    "request.created": gettext_lazy("Request logged"),
    "callout.started": gettext_lazy("Calling the emergency contacts"),
    "callout.calling": gettext_lazy("Calling an emergency contact"),
    "callout.taken": gettext_lazy("An emergency contact took responsibility"),
    "callout.also_taken": gettext_lazy("Another emergency contact also pressed 1"),
    "callout.not_taken": gettext_lazy("An emergency contact did not take it"),
    "callout.nobody": gettext_lazy("No emergency contact took responsibility"),
    "callout.stopped": gettext_lazy("The call-out stopped"),
    "visit.confirmation_pending": gettext_lazy("The elder was asked whether the caregiver arrived"),
    "visit.confirmation_confirmed": gettext_lazy("The elder confirmed the caregiver is there"),
    "visit.confirmation_denied": gettext_lazy("The elder said nobody has arrived"),
    "visit.confirmation_no_answer": gettext_lazy("The elder did not answer the check"),
    "visit.exception_approved": gettext_lazy("The check-in outside the geofence was approved"),
    "visit.exception_rejected": gettext_lazy("The check-in outside the geofence was rejected"),
    "complaint.opened": gettext_lazy("A complaint was opened"),
    "complaint.upheld": gettext_lazy("The complaint was upheld"),
    "complaint.dismissed": gettext_lazy("The complaint was dismissed"),
}
# Reasons the platform records as codes; people's reasons (an override's, a decline's) are text.
_REASONS: dict[str, Promise] = {
    "rounds_exhausted": gettext_lazy("every round of offers was used"),
    "no_candidates": gettext_lazy("nobody was left to offer it to"),
    "accept_target_missed": gettext_lazy("nobody accepted in time"),
    "escalated": gettext_lazy("the request went to the operator queue"),
    "operator_override": gettext_lazy("an operator assigned a worker"),
    "taken_by_another": gettext_lazy("another worker accepted"),
    "request_cancelled": gettext_lazy("the request was cancelled"),
}
_TARGETS: dict[str, Promise] = {
    "accept": gettext_lazy("Missed the target to be accepted"),
    "arrive": gettext_lazy("Missed the target to be on site"),
}


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    what: str
    who: str  # the person who caused it; "" for the platform
    detail: str


def _label(choices: type, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _person(user: User | None) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def timeline_rows(sr: ServiceRequest, events: list[Event]) -> list[TimelineRow]:
    """Each event in words: what happened, who did it, and what it carried worth reading (the
    worker named, the reason, the outcome)."""
    offer_workers = dict(JobOffer.objects.filter(request=sr).values_list("pk", "worker__full_name"))
    alert_kinds = dict(OperatorAlert.objects.filter(request=sr).values_list("pk", "kind"))
    worker_ids = {e.data["worker"] for e in events if isinstance(e.data.get("worker"), int)}
    names = dict(Worker.objects.filter(pk__in=worker_ids).values_list("pk", "full_name"))
    rows = []
    for event in events:
        family, _sep, what = event.kind.partition(".")
        data = event.data
        if family == "offer":
            worker = offer_workers.get(event.subject_id) or _("their provider")
            text = str(_OFFER_WORDS.get(what, event.kind)) % {"worker": worker}
        elif family == "alert":
            kind = _label(
                AlertKind, data.get("alert_kind") or alert_kinds.get(event.subject_id, "")
            )
            text = str(_ALERT_WORDS.get(what, event.kind)) % {"kind": kind}
        elif event.kind == "request.sla_missed":
            text = str(_TARGETS.get(data.get("target", ""), event.kind))
        elif family == "request" and event.kind != "request.created":
            text = _("Now: %(state)s") % {"state": _label(RequestState, what)}
        else:
            text = str(_OTHER_WORDS.get(event.kind, event.kind))
        rows.append(TimelineRow(event.at, text, _person(event.actor), _detail(data, names)))
    return rows


def _detail(data: dict[str, Any], names: dict[int, str]) -> str:
    parts = []
    worker = data.get("worker")
    if isinstance(worker, int) and worker in names:
        parts.append(_("worker: %(name)s") % {"name": names[worker]})
    if data.get("reason") == "ranked_candidate":
        parts.append(_("candidate no. %(rank)s of the ranking") % {"rank": data.get("rank")})
    elif data.get("reason"):
        reason = _REASONS.get(data["reason"], data["reason"])
        parts.append(_("reason: %(reason)s") % {"reason": reason})
    if data.get("outcome"):
        parts.append(_("outcome: %(outcome)s") % {"outcome": _label(Outcome, data["outcome"])})
    if data.get("note"):
        parts.append(_("note: %(note)s") % {"note": data["note"]})
    if data.get("round"):
        parts.append(_("round %(round)s") % {"round": data["round"]})
    return "; ".join(parts)
