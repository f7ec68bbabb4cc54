"""How an API request is signed in: a JWT (apps) or a Django session (browser), both refused for
staff who did not give the second factor when they signed in."""

from typing import Any

from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from .factors import SECOND_FACTOR, needs_second_factor
from .models import User
from .tokens import token_is_current


class TokenAuthentication(JWTAuthentication):
    def get_user(self, validated_token: Any) -> Any:
        if not token_is_current(validated_token):  # before the user's row is read
            raise AuthenticationFailed(
                "This token has ended (password changed, signed out or deactivated)",
                code="token_ended",
            )
        user = super().get_user(validated_token)
        if (
            isinstance(user, User)
            and needs_second_factor(user)
            and SECOND_FACTOR not in validated_token.get("amr", [])
        ):
            raise AuthenticationFailed(
                "This token was issued without the second factor that staff need",
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
