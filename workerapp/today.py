"""What the worker's home shows: their pending offers (as the API shows them to a worker:
service, time and distance, no name or address) and today's jobs (the API's work order, which
shows the elder's name and address only while the job's access grant is live, that is once
accepted)."""

from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from dispatch.api.serializers import OfferOutput, RequestOutput
from dispatch.models import OPEN_REQUEST_STATES
from dispatch.selectors import offers_for_user, requests_visible_to


def distance_text(metres: float) -> str:
    if metres < 1000:
        return _("%(m)d m") % {"m": round(metres)}
    return _("%(km).1f km") % {"km": metres / 1000}


def pending_offers(user: User) -> list[dict[str, Any]]:
    rows = []
    for offer in offers_for_user(user).order_by("expires_at"):
        shown = dict(OfferOutput(offer).data)
        shown["service"] = offer.request.service_type.local_name
        shown["window_start"] = offer.request.window_start
        shown["expires_at"] = offer.expires_at
        shown["distance"] = distance_text(offer.distance_m)
        rows.append(shown)
    return rows


def _today() -> tuple[datetime, datetime]:
    """Today in the active time zone (the worker app's: the service area's)."""
    start = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    return start, start + timedelta(days=1)


def jobs_today(user: User) -> list[dict[str, Any]]:
    """The worker's jobs whose window touches today, and any still open from another day."""
    start, end = _today()
    jobs = (
        requests_visible_to(user)
        .filter(Q(window_start__lt=end, window_end__gte=start) | Q(state__in=OPEN_REQUEST_STATES))
        .order_by("window_start", "pk")
    )
    rows = []
    for sr in jobs:
        shown = dict(RequestOutput(sr, context={"user": user}).data)
        shown["service"] = sr.service_type.local_name
        shown["state_label"] = sr.get_state_display()
        shown["window_start"] = sr.window_start
        rows.append(shown)
    return rows
