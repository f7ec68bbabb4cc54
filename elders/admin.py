from django import forms
from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import District
from backend.core.admin import DistrictScope, DistrictScopedAdmin, ReadOnlyAdmin

from .importer import ALL_OR_NOTHING, KEEP_GOOD, MAX_FILE_BYTES, elders_import, read_rows
from .models import (
    AbilityAssessment,
    AccessGrant,
    AccessLog,
    AlarmDevice,
    CareNeed,
    Consent,
    Elder,
    EmergencyContact,
)


class EmergencyContactInline(DistrictScope, admin.TabularInline):
    model = EmergencyContact
    district_lookups = ("elder__district",)
    extra = 0
    raw_id_fields = ("user",)


class CareNeedInline(DistrictScope, admin.TabularInline):
    model = CareNeed
    district_lookups = ("elder__district",)
    extra = 0


class DeviceInline(DistrictScope, admin.TabularInline):
    model = AlarmDevice
    district_lookups = ("elder__district",)
    extra = 0


class ImportForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_("CSV or XLSX"))
    district = forms.ModelChoiceField(label=_("District"), queryset=District.objects.all())
    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=[(KEEP_GOOD, _("Keep the good rows")), (ALL_OR_NOTHING, _("All or nothing"))],
    )
    dry_run = forms.BooleanField(
        label=_("Dry run"),
        required=False,
        initial=True,
        help_text=_("Check everything, write nothing"),
    )


@admin.register(Elder)
class ElderAdmin(DistrictScopedAdmin, GISModelAdmin):
    list_display = ("full_name", "gender", "division_code", "care_level", "status", "district")
    list_filter = ("district", "status", "care_level", "living_arrangement")
    search_fields = ("full_name", "phone", "landline", "division_code")
    readonly_fields = ("has_id_number", "care_level", "next_assessment_due")
    exclude = ("id_number_encrypted", "id_number_hash")
    inlines = [EmergencyContactInline, CareNeedInline, DeviceInline]
    district_lookups = ("district",)

    def get_urls(self):
        return [
            path(
                "import/", self.admin_site.admin_view(self.import_view), name="elders_elder_import"
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        report = None
        form = ImportForm(request.POST or None, request.FILES or None)
        districts = form.fields["district"]
        assert isinstance(districts, forms.ModelChoiceField)
        districts.queryset = self.scoped_choices(District, request)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_FILE_BYTES:  # refused before it is read into memory
                form.add_error(
                    "file", _("larger than %(mb)s MB: split it") % {"mb": MAX_FILE_BYTES // 2**20}
                )
            else:
                try:
                    rows = read_rows(upload.name, upload.read())
                    report = elders_import(
                        rows,
                        district=form.cleaned_data["district"],
                        actor=request.user,
                        mode=form.cleaned_data["mode"],
                        dry_run=form.cleaned_data["dry_run"],
                    )
                except ValueError as exc:
                    form.add_error("file", str(exc))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "report": report,
            "title": _("Import elders"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/elders/import.html", context)


@admin.register(AbilityAssessment)
class AbilityAssessmentAdmin(DistrictScopedAdmin):
    list_display = ("elder", "assessed_on", "total", "level", "barthel_total", "next_due")
    raw_id_fields = ("elder", "assessor")
    district_lookups = ("elder__district",)


@admin.register(Consent)
class ConsentAdmin(DistrictScopedAdmin):
    list_display = ("elder", "purpose", "given_by", "given_on", "withdrawn_on")
    raw_id_fields = ("elder",)
    district_lookups = ("elder__district",)


@admin.register(AccessGrant)
class AccessGrantAdmin(ReadOnlyAdmin):
    """Grants come from work orders (elders.services), never by hand."""

    list_display = ("elder", "user", "reference", "granted_at", "expires_at", "revoked_at")
    raw_id_fields = ("elder", "user")
    district_lookups = ("elder__district",)


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    """Rows are written by the reads they record, never by hand."""

    list_display = ("at", "user", "elder", "field", "purpose")
    raw_id_fields = ("elder", "user")
    district_lookups = ("elder__district",)
