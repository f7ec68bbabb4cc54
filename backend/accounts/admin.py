from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.gis.admin import GISModelAdmin

from .models import District, User


@admin.register(District)
class DistrictAdmin(GISModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "role", "district", "is_active")
    list_filter = ("role", "district")
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Anxin", {"fields": ("role", "district")}))
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("Anxin", {"fields": ("role", "district")}),
    )
