"""Who the district page links to settlement (settlement/roles.py says who may read what)."""

from django import template

from backend.accounts.models import User
from settlement.roles import ENTITLEMENT_READERS, STATEMENT_READERS

register = template.Library()


@register.filter
def reads_statements(user: User) -> bool:
    return user.role in STATEMENT_READERS


@register.filter
def reads_entitlements(user: User) -> bool:
    return user.role in ENTITLEMENT_READERS
