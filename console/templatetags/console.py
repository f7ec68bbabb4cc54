"""Small template helpers of the console's pages."""

from django import template
from django.utils.translation import gettext as _

from alarms.models import AlarmOutcome
from backend.accounts.models import User
from backend.core.watchdog import timers_stale_now
from console import access
from dispatch.alert_rules import (
    ALERT_RESOLUTION_LABELS,
    ALERT_RESOLUTIONS,
    RESOLVED_BY_CLOSING,
    alert_resolutions_by_hand,
)
from dispatch.models import OperatorAlert

register = template.Library()


@register.filter
def resolutions(alert: OperatorAlert) -> list[tuple[str, str]]:
    """The codes that resolve this alert's kind, with what they mean, "other" last."""
    codes = alert_resolutions_by_hand(alert.kind)
    ordered = sorted(codes, key=lambda code: (code == "other", str(ALERT_RESOLUTION_LABELS[code])))
    return [(code, str(ALERT_RESOLUTION_LABELS[code])) for code in ordered]


@register.filter
def closed_by_request(alert: OperatorAlert) -> bool:
    return RESOLVED_BY_CLOSING in ALERT_RESOLUTIONS[alert.kind]


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


@register.simple_tag
def platform_stale() -> list[str]:
    """The platform's timers stopped now (the console's banner shows from the first render)."""
    return timers_stale_now()
