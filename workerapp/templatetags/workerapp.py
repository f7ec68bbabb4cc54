"""What the worker app's pages read of the worker wherever they are rendered."""

from django import template
from django.conf import settings

from providers.models import ShiftState
from providers.selectors import worker_for_user
from workerapp import kept

register = template.Library()


@register.simple_tag(takes_context=True)
def position_sharing(context: template.Context) -> dict[str, object]:
    """Whether the app sends the phone's position (on shift, or holding a job: matching and
    the family's distance need it; off shift and free, never), and how often the server takes
    one (ANXIN LOCATION_MIN_INTERVAL_S: the app sends no faster)."""
    user = context["request"].user
    worker = worker_for_user(user_id=user.pk) if user.is_authenticated else None
    share = worker is not None and (worker.shift_state == ShiftState.ON or worker.active_jobs > 0)
    return {"on": share, "interval_s": settings.ANXIN["LOCATION_MIN_INTERVAL_S"]}


@register.simple_tag(takes_context=True)
def visits_config(context: template.Context) -> dict[str, object]:
    """What visits.js reads on every page (workerapp/kept.py)."""
    return kept.visits_config(context["request"])
