from collections.abc import Collection

from django.utils.translation import gettext as _
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.request import Request

from backend.accounts.models import User


def signed_in(request: Request) -> User:
    """The caller of an API view (every view requires a signed-in user by default)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


def require_role(user: User, roles: Collection[str], what: str) -> None:
    """403 naming what the caller's role may not do: `what` is a gettext verb phrase, e.g.
    _("register elders"), that completes "Your role may not ..."."""
    if user.role not in roles:
        raise PermissionDenied(_("Your role may not %(action)s.") % {"action": what})
