from django.contrib import admin

from .models import JobOffer, ServiceRequest, ServiceType, Visit


@admin.register(ServiceType)
class ServiceTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_zh", "default_priority", "lead_time")


@admin.register(ServiceRequest)
class ServiceRequestAdmin(admin.ModelAdmin):
    list_display = ("reference", "state", "service_type", "priority", "channel", "created_at")
    list_filter = ("state", "priority", "channel", "service_type")
    search_fields = ("reference",)
    raw_id_fields = ("elder", "assigned_worker", "caller")
    readonly_fields = ("state",)


@admin.register(JobOffer)
class JobOfferAdmin(admin.ModelAdmin):
    list_display = ("id", "request", "worker", "state", "rank", "distance_m", "expires_at")
    list_filter = ("state",)
    raw_id_fields = ("request", "worker")


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ("id", "request", "worker", "state", "checked_in_at", "checked_out_at")
    raw_id_fields = ("request", "worker", "elder")
