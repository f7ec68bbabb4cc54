"""A provider's status changes only through this table, by a district administrator, with a
reason; every change writes an event (the audit row)."""

from .models import ProviderStatus as S

PROVIDER_TRANSITIONS: dict[tuple[str, str], str] = {
    (S.PENDING, "approve"): S.ACTIVE,
    (S.PENDING, "blacklist"): S.BLACKLISTED,
    (S.ACTIVE, "suspend"): S.SUSPENDED,
    (S.ACTIVE, "blacklist"): S.BLACKLISTED,
    (S.SUSPENDED, "reinstate"): S.ACTIVE,
    (S.SUSPENDED, "blacklist"): S.BLACKLISTED,
    (S.BLACKLISTED, "reinstate"): S.ACTIVE,
}

# Score changes per credit event, on a record that starts at 100 and stays within 0-120.
CREDIT_DELTAS = {
    "verified_visit": 0.2,
    "praise": 1.0,
    "late_arrival": -2.0,
    "no_show": -5.0,
    "upheld_complaint": -10.0,
}
CREDIT_MIN, CREDIT_MAX = 0, 120
