from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.gis.admin import GISModelAdmin
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.token_blacklist.admin import (
    BlacklistedTokenAdmin,
    OutstandingTokenAdmin,
)
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from backend.core.admin import DistrictScopedAdmin

from . import services
from .models import District, User
from .selectors import USER_DISTRICT_LOOKUPS

# Only a superuser hands out a superuser's or anyone's individual rights; the roles carry the
# rest (backend/accounts/backends.py).
PRIVILEGE_FIELDS = ("is_superuser", "groups", "user_permissions")


@admin.register(District)
class DistrictAdmin(DistrictScopedAdmin, GISModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")
    district_lookups = ("pk",)


@admin.register(User)
class UserAdmin(DistrictScopedAdmin, BaseUserAdmin):
    list_display = ("username", "role", "district", "is_active")
    list_filter = ("role", "district")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Anxin", {"fields": ("role", "district", "language", "phone")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("Anxin", {"fields": ("role", "district", "language", "phone")}),
    )
    district_lookups = USER_DISTRICT_LOOKUPS

    def get_queryset(self, request):
        users = super().get_queryset(request)
        return users if request.user.is_superuser else users.filter(is_superuser=False)

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else (*fields, *PRIVILEGE_FIELDS)

    def save_model(self, request, obj, form, change) -> None:
        if not change and obj.district_id is None and not request.user.is_superuser:
            # A worker's or family account made here has no district of its own yet: keep it
            # in the district that made it, or its maker could not find it again.
            obj.district_id = request.user.district_id
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.user_deactivate(user=obj, actor=request.user)  # its tokens and sockets end

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # the password was set
            user = self.get_object(request, id)
            if user is not None:
                services.user_password_set(user=user, actor=request.user)
        return response


# Pages of django-otp (authenticators) and simplejwt (refresh tokens, spent ones), scoped like
# the accounts they belong to.
admin.site.unregister(TOTPDevice)
admin.site.unregister(OutstandingToken)
admin.site.unregister(BlacklistedToken)


@admin.register(TOTPDevice)
class AuthenticatorAdmin(DistrictScopedAdmin, TOTPDeviceAdmin):
    district_lookups = tuple(f"user__{lookup}" for lookup in USER_DISTRICT_LOOKUPS)


@admin.register(OutstandingToken)
class RefreshTokenAdmin(DistrictScopedAdmin, OutstandingTokenAdmin):
    district_lookups = tuple(f"user__{lookup}" for lookup in USER_DISTRICT_LOOKUPS)


@admin.register(BlacklistedToken)
class SpentRefreshTokenAdmin(DistrictScopedAdmin, BlacklistedTokenAdmin):
    district_lookups = tuple(f"token__user__{lookup}" for lookup in USER_DISTRICT_LOOKUPS)
