from django.contrib import admin

from .models import JobOffer, ServiceRequest, ServiceType, Visit


@admin.register(ServiceType)
class ServiceTypeAdmin(admin.ModelAdmin):
    """Where a district tunes each service's targets and escalation ladder."""

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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Work orders, offers and visits change only through the services (the transition tables
    and the audit): the admin shows them and changes nothing."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ServiceRequest)
class ServiceRequestAdmin(ReadOnlyAdmin):
    list_display = ("reference", "state", "service_type", "priority", "channel", "created_at")
    list_filter = ("state", "priority", "channel", "service_type")
    search_fields = ("reference",)
    raw_id_fields = ("elder", "assigned_worker", "caller")


@admin.register(JobOffer)
class JobOfferAdmin(ReadOnlyAdmin):
    list_display = ("id", "request", "worker", "state", "rank", "distance_m", "expires_at")
    list_filter = ("state",)
    raw_id_fields = ("request", "worker")


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ("id", "request", "worker", "state", "checked_in_at", "checked_out_at")
    raw_id_fields = ("request", "worker", "elder")
