"""Small template helpers of the console's pages."""

from django import template
from django.utils.translation import gettext as _

from alarms.models import AlarmOutcome
from backend.accounts.models import User
from console import access
from dispatch.models import ALERT_RESOLUTION_LABELS, ALERT_RESOLUTIONS, OperatorAlert

register = template.Library()

# An emergency's outcome alert is resolved by closing its request with the outcome.
_BY_CLOSING_THE_REQUEST = "outcome_recorded"


@register.filter
def resolutions(alert: OperatorAlert) -> list[tuple[str, str]]:
    """The codes that resolve this alert's kind, with what they mean, "other" last."""
    codes = ALERT_RESOLUTIONS[alert.kind] - {_BY_CLOSING_THE_REQUEST}
    ordered = sorted(codes, key=lambda code: (code == "other", str(ALERT_RESOLUTION_LABELS[code])))
    return [(code, str(ALERT_RESOLUTION_LABELS[code])) for code in ordered]


@register.filter
def closed_by_request(alert: OperatorAlert) -> bool:
    return _BY_CLOSING_THE_REQUEST in ALERT_RESOLUTIONS[alert.kind]


@register.simple_tag
def alarm_outcomes() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in AlarmOutcome.choices]


@register.filter
def band_label(band_name: str) -> str:
    return {"emergency": _("Emergency"), "urgent": _("Urgent"), "routine": _("Routine")}[band_name]


@register.filter
def supervises(user: User) -> bool:
    """Whether the top bar links today's figures (console/access.py says who may see them)."""
    return user.role in access.SUPERVISION_ROLES
