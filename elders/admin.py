from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin

from .models import Elder, EmergencyContact


class EmergencyContactInline(admin.TabularInline):
    model = EmergencyContact
    extra = 0


@admin.register(Elder)
class ElderAdmin(GISModelAdmin):
    list_display = ("full_name", "gender", "phone", "district")
    list_filter = ("district", "gender")
    search_fields = ("full_name", "phone", "landline")
    inlines = [EmergencyContactInline]
