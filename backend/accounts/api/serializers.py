from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenObtainSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from backend.accounts.factors import needs_second_factor
from backend.accounts.lockout import LockedOut
from backend.accounts.models import User
from backend.accounts.otp import OTPInvalid, otp_verify
from backend.accounts.tokens import token_is_current, tokens_for


class TokenObtainInput(TokenObtainSerializer):
    """Username and password; staff add `otp`, the code their authenticator app shows."""

    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=10,
        write_only=True,
        help_text="Staff (operator, supervisor, district_admin): the 6-digit TOTP code",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        try:
            super().validate(attrs)  # django-axes counts a wrong password, refuses a locked pair
        except AuthenticationFailed:
            self._refuse_if_locked_out(request)
            raise
        user = self.user
        assert user is not None  # authenticated, or super().validate raised
        second_factor = needs_second_factor(user)
        if second_factor:
            try:
                otp_verify(user=user, code=attrs.get("otp"))
            except OTPInvalid:
                # A wrong code counts as a wrong sign-in: guessing codes locks out too.
                credentials = {"username": user.get_username()}
                user_login_failed.send(sender=__name__, credentials=credentials, request=request)
                self._refuse_if_locked_out(request)
                raise
        user_logged_in.send(sender=type(user), request=request, user=user)
        refresh = tokens_for(user, second_factor=second_factor)
        return {"refresh": str(refresh), "access": str(refresh.access_token)}

    @staticmethod
    def _refuse_if_locked_out(request: Any) -> None:
        # django-axes marks the request when this attempt found (or made) a lockout.
        if getattr(request, "axes_locked_out", False):
            raise LockedOut() from None


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class TokenRefreshInput(TokenRefreshSerializer):
    """A refresh token is spent on use: the answer carries a new one (rotation), and the old one
    is refused from then on (blacklisted). One whose user's tokens were ended is refused."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        token = RefreshToken(attrs["refresh"])
        if not token_is_current(token):
            raise AuthenticationFailed(_("This token has ended."), code="token_ended")
        user_id = token.get(jwt_settings.USER_ID_CLAIM)
        if not User.objects.filter(pk=user_id, is_active=True).exists():
            raise AuthenticationFailed(
                _("No active account for this token."), code="no_active_account"
            )
        return super().validate(attrs)


class LogoutInput(serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token to end")
    everywhere = serializers.BooleanField(
        default=False, help_text="End every token and socket of this account, on every device"
    )

    def validate_refresh(self, value: Any) -> RefreshToken:
        try:
            return RefreshToken(value)
        except TokenError:
            raise serializers.ValidationError(_("not a valid refresh token")) from None


class PasswordChangeInput(serializers.Serializer):
    old_password = serializers.CharField(max_length=128, style={"input_type": "password"})
    new_password = serializers.CharField(max_length=128, style={"input_type": "password"})
