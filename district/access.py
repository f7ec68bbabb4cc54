"""Who sees the district's oversight figures."""

from backend.accounts.models import Role

OVERSIGHT_ROLES = frozenset({Role.SUPERVISOR, Role.DISTRICT_ADMIN})
"""District administrators (民政), and supervisors, who already see the district's figures of
the day in the console; each their own district only (`User.staff_district_id`)."""
