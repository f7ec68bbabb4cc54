from collections.abc import Collection

from rest_framework.exceptions import PermissionDenied

from backend.accounts.models import User


def require_role(user: User, roles: Collection[str], what: str) -> None:
    """403 naming what the caller's role may not do."""
    if user.role not in roles:
        raise PermissionDenied(f"Your role may not {what}")
