"""Who may do what with settlement, in one place: the API's views (settlement/api/views.py) and
the console's pages (console/views/settlement.py) both import these."""

from backend.accounts.models import Role

# Set entitlements and issue statements: the district's administrators.
ADMIN: frozenset[str] = frozenset({Role.DISTRICT_ADMIN})
# Read an elder's entitlements and their history.
ENTITLEMENT_READERS: frozenset[str] = frozenset({Role.SUPERVISOR, Role.DISTRICT_ADMIN})
# Read statements and download them: the district's administrators (their district) and a
# provider's admins (their own provider's).
STATEMENT_READERS: frozenset[str] = frozenset({Role.DISTRICT_ADMIN, Role.PROVIDER_ADMIN})
