from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from backend.accounts import services
from backend.accounts.models import Role, User
from backend.accounts.selectors import users_managed_by
from backend.core.i18n import user_language_activate
from backend.core.permissions import require_role, signed_in

from .serializers import (
    LogoutInput,
    PasswordChangeInput,
    TokenObtainInput,
    TokenPairOutput,
    TokenRefreshInput,
)

MANAGERS = {Role.SUPERVISOR, Role.DISTRICT_ADMIN}


class MeView(APIView):
    """Your own account. `language` is yours to set (blank: the platform's, zh-hans); it wins
    over Accept-Language in every answer to you, and chooses the language of your texts and
    calls. `phone` is the registered phone the hotline connects the callers you take to; an
    administrator sets it."""

    class MeOutput(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        role = serializers.CharField()
        district = serializers.CharField(source="district.code", allow_null=True, default=None)
        language = serializers.CharField(help_text="Your language; blank: the platform's")
        phone = serializers.CharField(help_text="E.164; blank when none is registered")

    class MeInput(serializers.Serializer):
        language = serializers.ChoiceField(
            choices=settings.LANGUAGES,
            allow_blank=True,
            help_text="Your language; blank for the platform's (zh-hans)",
        )

    @extend_schema(responses=MeOutput)
    def get(self, request):
        return Response(self.MeOutput(request.user).data)

    @extend_schema(request=MeInput, responses=MeOutput)
    def patch(self, request):
        data = self.MeInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = signed_in(request)
        if "language" in data.validated_data:
            services.user_language_set(user=user, language=data.validated_data["language"])
            user_language_activate(request._request, user)  # this answer is in it already
        return Response(self.MeOutput(user).data)


class TokenObtainView(TokenObtainPairView):
    """Access and refresh tokens. Staff (operator, supervisor, district_admin) send `otp`, the
    code of their authenticator app: without it 400, wrong 401, none enrolled 403, each naming
    `otp`. Five wrong passwords (or codes) in a row lock the account from the caller's address
    for a cool-off: 429 `locked_out` with Retry-After; elsewhere it still signs in."""

    serializer_class = TokenObtainInput

    @extend_schema(responses=TokenPairOutput)
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class TokenRefreshRotatingView(TokenRefreshView):
    """A new access token and a new refresh token; the refresh token sent is spent."""

    serializer_class = TokenRefreshInput

    @extend_schema(responses=TokenPairOutput)
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutView(APIView):
    """End a refresh token (the one you hold is proof enough; an expired access token is not
    needed); with `everywhere`, every token and open socket of the account."""

    permission_classes = [AllowAny]

    @extend_schema(request=LogoutInput, responses={204: None})
    def post(self, request):
        data = LogoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        refresh = data.validated_data["refresh"]
        refresh.blacklist()
        if data.validated_data["everywhere"]:
            user = User.objects.filter(pk=refresh.get(jwt_settings.USER_ID_CLAIM)).first()
            if user is not None:
                services.user_sign_out_everywhere(user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    """Change your own password: every token and open socket of yours ends (sign in again)."""

    @extend_schema(request=PasswordChangeInput, responses={204: None})
    def post(self, request):
        data = PasswordChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_password_change(user=signed_in(request), **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserUnlockView(APIView):
    """Unlock an account locked out after wrong passwords, from every address (supervisors and
    district administrators, for their district's staff, workers and families)."""

    class UnlockOutput(serializers.Serializer):
        addresses_locked = serializers.IntegerField()

    @extend_schema(request=None, responses=UnlockOutput)
    def post(self, request, pk: int):
        actor = signed_in(request)
        require_role(actor, MANAGERS, _("unlock accounts"))
        user = get_object_or_404(users_managed_by(actor), pk=pk)
        unlocked = services.user_unlock(user=user, actor=actor)
        return Response({"addresses_locked": unlocked})


class UserDeactivateView(APIView):
    """Deactivate an account of the district (district administrators): no more sign-ins, and
    every token and open socket of it ends now."""

    class DeactivateOutput(serializers.Serializer):
        id = serializers.IntegerField()
        is_active = serializers.BooleanField()

    @extend_schema(request=None, responses=DeactivateOutput)
    def post(self, request, pk: int):
        actor = signed_in(request)
        require_role(actor, {Role.DISTRICT_ADMIN}, _("deactivate accounts"))
        user = get_object_or_404(users_managed_by(actor), pk=pk)
        services.user_deactivate(user=user, actor=actor)
        return Response({"id": user.pk, "is_active": user.is_active})
