from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.gis.admin import GISModelAdmin

from backend.core.admin import DistrictScopedAdmin

from .models import District, User

# Who in a district a district administrator manages: its staff, the workers and administrators
# of its providers, and the families of its elders.
USER_DISTRICT_LOOKUPS = (
    "district",
    "worker__provider__district",
    "administered_providers__district",
    "elder_contacts__elder__district",
)
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
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Anxin", {"fields": ("role", "district")}))
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("Anxin", {"fields": ("role", "district")}),
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
