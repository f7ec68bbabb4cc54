from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin

from .models import (
    Appeal,
    Certificate,
    CreditEvent,
    Provider,
    ProviderService,
    Sanction,
    ShiftChange,
    Worker,
)


class ServiceInline(admin.TabularInline):
    model = ProviderService
    extra = 0


@admin.register(Provider)
class ProviderAdmin(GISModelAdmin):
    """Service areas are edited on the map. Status is read-only here: it changes only through
    the audited transition (API: POST /api/v1/providers/{id}/status/ or a sanction)."""

    list_display = ("name", "kind", "status", "credit_score", "district")
    list_filter = ("status", "kind", "district")
    search_fields = ("name", "credit_code")
    readonly_fields = ("status", "status_reason", "suspended_until", "credit_score")
    filter_horizontal = ("admins",)
    inlines = [ServiceInline]


class CertificateInline(admin.TabularInline):
    model = Certificate
    extra = 0
    readonly_fields = ("expiry_notice_sent_on",)


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = (
        "full_name",
        "provider",
        "shift_state",
        "active_jobs",
        "capacity",
        "credit_score",
    )
    list_filter = ("shift_state", "provider")
    search_fields = ("full_name", "phone")
    readonly_fields = ("active_jobs", "credit_score", "shift_state")
    raw_id_fields = ("user",)
    inlines = [CertificateInline]


@admin.register(ShiftChange)
class ShiftChangeAdmin(admin.ModelAdmin):
    list_display = ("worker", "state", "at")
    raw_id_fields = ("worker",)


@admin.register(CreditEvent)
class CreditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "provider", "worker", "kind", "delta", "reference")
    list_filter = ("kind",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Sanction)
class SanctionAdmin(admin.ModelAdmin):
    list_display = ("provider", "kind", "reason", "decided_at", "until", "lifted_at")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False  # through the API, so the status transition and the event happen


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    list_display = ("sanction", "state", "filed_at", "decided_at")
    list_filter = ("state",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False
