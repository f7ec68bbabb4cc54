from django.contrib import admin

from backend.core.admin import DistrictScopedAdmin, ReadOnlyAdmin

from .models import JobOffer, ServiceRequest, ServiceType, Visit


@admin.register(ServiceType)
class ServiceTypeAdmin(DistrictScopedAdmin):
    """Each service's targets and escalation ladder. Platform-wide (no district scope): every
    district's work orders follow it, so only a superuser changes it."""

    list_display = (
        "code",
        "name_zh",
        "default_priority",
        "accept_within",
        "arrive_within",
        "offer_fanout",
        "offer_timeout",
        "offer_rounds",
        "alert_ack_within",
        "notify_contacts",
    )
    readonly_fields = ("code",)
    fieldsets = (
        (None, {"fields": ("code", "name", "name_zh", "default_priority", "dispatch_mode")}),
        ("Work", {"fields": ("lead_time", "default_duration", "required_certificates")}),
        ("Service-level targets", {"fields": ("accept_within", "arrive_within")}),
        (
            "Escalation ladder",
            {
                "fields": (
                    "offer_fanout",
                    "offer_timeout",
                    "offer_rounds",
                    "alert_ack_within",
                    "notify_contacts",
                )
            },
        ),
    )


@admin.register(ServiceRequest)
class ServiceRequestAdmin(ReadOnlyAdmin):
    list_display = ("reference", "state", "service_type", "priority", "channel", "created_at")
    list_filter = ("state", "priority", "channel", "service_type")
    search_fields = ("reference",)
    raw_id_fields = ("elder", "assigned_worker", "caller")
    district_lookups = ("district",)


@admin.register(JobOffer)
class JobOfferAdmin(ReadOnlyAdmin):
    list_display = ("id", "request", "worker", "state", "rank", "distance_m", "expires_at")
    list_filter = ("state",)
    raw_id_fields = ("request", "worker")
    district_lookups = ("request__district",)


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ("id", "request", "worker", "state", "checked_in_at", "checked_out_at")
    raw_id_fields = ("request", "worker", "elder")
    district_lookups = ("request__district",)
