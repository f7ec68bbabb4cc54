from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from backend.core.admin import DistrictScopedAdmin, ReadOnlyAdmin

from .models import Call, CallBack, HotlineNumber
from .numbers import numbers_forget


@admin.register(HotlineNumber)
class HotlineNumberAdmin(DistrictScopedAdmin):
    """The numbers that reach each district's hotline: Twilio's `To` for an inbound call. Every
    web process reads a change within half a minute (hotline/numbers.py)."""

    list_display = ("number", "district", "label")
    district_lookups = ("district",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        transaction.on_commit(numbers_forget)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        transaction.on_commit(numbers_forget)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        super().delete_queryset(request, queryset)
        transaction.on_commit(numbers_forget)


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = ("id", "arrived_at", "state", "priority", "outcome", "menu_path", "taken_by")
    list_filter = ("state", "priority", "outcome")
    search_fields = ("call_sid",)
    raw_id_fields = ("elders", "taken_by", "request")
    district_lookups = ("district",)


@admin.register(CallBack)
class CallBackAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "state", "taken_by", "closed_by")
    list_filter = ("state",)
    raw_id_fields = ("call", "taken_by", "closed_by")
    district_lookups = ("district",)
