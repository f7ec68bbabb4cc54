from django import forms
from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from django.utils.translation import gettext as _

from backend.core.admin import DistrictScope, DistrictScopedAdmin, ReadOnlyAdmin
from backend.core.errors import DomainError

from . import services
from .models import (
    Appeal,
    Certificate,
    CreditEvent,
    Provider,
    ProviderChange,
    ProviderService,
    Sanction,
    ShiftChange,
    Worker,
)


class ServiceInline(DistrictScope, admin.TabularInline):
    model = ProviderService
    district_lookups = ("provider__district",)
    extra = 0
    # A price, unit or subsidy flag is a change a district administrator approves:
    # POST /api/v1/providers/{id}/services/ (services.provider_service_set).
    readonly_fields = ("service_code", "price", "unit", "subsidised")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ProviderForm(forms.ModelForm):
    class Meta:
        model = Provider
        fields = "__all__"  # noqa: DJ007 - the admin shows every field; read-only ones below

    def clean(self):
        cleaned = super().clean() or {}
        changed = {name: cleaned[name] for name in self.changed_data if name in cleaned}
        if self.instance.pk:
            try:
                services.provider_update_check(provider=self.instance, **changed)
            except DomainError as exc:
                raise forms.ValidationError(exc.extra.get("fields") or str(exc.detail)) from None
        return cleaned


@admin.register(Provider)
class ProviderAdmin(DistrictScopedAdmin, GISModelAdmin):
    """Service areas are edited on the map. Status is read-only here: it changes only through
    the audited transition (API: POST /api/v1/providers/{id}/status/ or a sanction)."""

    list_display = ("name", "kind", "status", "credit_score", "district")
    list_filter = ("status", "kind", "district")
    search_fields = ("name", "credit_code")
    readonly_fields = ("status", "status_reason", "suspended_until", "credit_score")
    filter_horizontal = ("admins",)
    inlines = [ServiceInline]
    district_lookups = ("district",)
    form = ProviderForm

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and not services.change_may_decide(actor=request.user, provider=obj):
            return fields + services.REVIEWED_FIELDS
        return fields

    def save_model(self, request, obj, form, change) -> None:
        """Through `services.provider_update`, like the API's: where it serves and its credit
        code are recorded as a change (approved at once for a district administrator)."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name != "admins"}
        services.provider_update(provider=obj, actor=request.user, **fields)


class CertificateInline(DistrictScope, admin.TabularInline):
    model = Certificate
    district_lookups = ("worker__provider__district",)
    extra = 0
    readonly_fields = ("expiry_notice_sent_on",)


class WorkerForm(forms.ModelForm):
    class Meta:
        model = Worker
        fields = "__all__"  # noqa: DJ007 - the admin shows every field; read-only ones below

    def clean_capacity(self) -> int:
        capacity = self.cleaned_data["capacity"]
        held = self.instance.active_jobs if self.instance.pk else 0
        if capacity < held:
            raise forms.ValidationError(
                _("The worker holds %(jobs)s jobs now; capacity cannot be lower.") % {"jobs": held}
            )
        return capacity


@admin.register(Worker)
class WorkerAdmin(DistrictScopedAdmin):
    """Changes go through `services.worker_update`, like the API's: what matching filters on
    (skills, capacity, provider) reaches the position row, and the change is audited."""

    form = WorkerForm
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
    district_lookups = ("provider__district",)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            services.positions_sync(worker_ids=[obj.pk])
            return
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        services.worker_update(worker_id=obj.pk, actor=request.user, **changed)


@admin.register(ShiftChange)
class ShiftChangeAdmin(DistrictScopedAdmin):
    list_display = ("worker", "state", "at")
    raw_id_fields = ("worker",)
    district_lookups = ("worker__provider__district",)


@admin.register(CreditEvent)
class CreditEventAdmin(DistrictScopedAdmin):
    list_display = ("at", "provider", "worker", "kind", "delta", "reference")
    list_filter = ("kind",)
    district_lookups = ("provider__district",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Sanction)
class SanctionAdmin(DistrictScopedAdmin):
    list_display = ("provider", "kind", "reason", "decided_at", "until", "lifted_at")
    district_lookups = ("provider__district",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False  # through the API, so the status transition and the event happen


@admin.register(Appeal)
class AppealAdmin(DistrictScopedAdmin):
    list_display = ("sanction", "state", "filed_at", "decided_at")
    list_filter = ("state",)
    district_lookups = ("sanction__provider__district",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ProviderChange)
class ProviderChangeAdmin(ReadOnlyAdmin):
    """The history of changes to where providers serve, credit codes and prices; decided
    through the API (POST /api/v1/provider-changes/{id}/decide/)."""

    list_display = ("provider", "state", "requested_by", "requested_at", "decided_by", "decided_at")
    list_filter = ("state",)
    district_lookups = ("provider__district",)
