from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin

from .models import Provider, Worker


@admin.register(Provider)
class ProviderAdmin(GISModelAdmin):
    list_display = ("name", "status", "district")
    list_filter = ("status", "district")
    search_fields = ("name",)


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ("full_name", "provider", "shift_state", "active_jobs", "capacity")
    list_filter = ("shift_state", "provider")
    search_fields = ("full_name", "phone")
