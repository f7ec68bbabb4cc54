from django.contrib import admin

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "at", "kind", "subject_type", "subject_id", "before", "after", "actor")
    list_filter = ("kind", "subject_type")
    search_fields = ("subject_id",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
