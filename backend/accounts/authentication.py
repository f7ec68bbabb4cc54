"""How an API request is signed in: a JWT (apps) or a Django session (browser), both refused for
staff who did not give the second factor when they signed in."""

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from backend.core.i18n import user_language_activate

from .factors import SECOND_FACTOR, needs_second_factor
from .models import User
from .tokens import token_is_current


class TokenAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None:  # the user's own language over Accept-Language (core/i18n.py)
            user_language_activate(request._request, result[0])
        return result

    def get_user(self, validated_token: Any) -> Any:
        if not token_is_current(validated_token):  # before the user's row is read
            raise AuthenticationFailed(
                _("This token has ended (password changed, signed out or deactivated)."),
                code="token_ended",
            )
        user = super().get_user(validated_token)
        if (
            isinstance(user, User)
            and needs_second_factor(user)
            and SECOND_FACTOR not in validated_token.get("amr", [])
        ):
            raise AuthenticationFailed(
                _("This token was issued without the second factor that staff need."),
                code="second_factor_required",
            )
        return user


class SessionAuthentication(authentication.SessionAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if not isinstance(user, User):
            return result
        verified = getattr(request._request.user, "is_verified", lambda: False)()
        if needs_second_factor(user) and not verified:
            return None
        return result
