"""The admin inside the rules, in one place: every page is scoped to the signed-in user's
district, and every change made there is an audit event.

A page names the path from its rows to their district (`district_lookups`); a page with none
is platform-wide (the service catalogue), which the roles only read. A superuser, the platform
operator, sees every district. Foreign-key and many-to-many choices come from the related
page's own scoped rows, so nothing of another district can be picked either.
"""

from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import BaseModelAdmin
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from backend.accounts.models import User

from .events import event_record
from .maps import MapWidget
from .models import Event


def district_scoped(queryset: QuerySet[Any], user: Any, lookups: Sequence[str]) -> QuerySet[Any]:
    """The rows of `queryset` in `user`'s district, reached by any of `lookups`.

    Platform-wide rows (no lookups) and superusers are not narrowed; a user without a staff
    district sees nothing.
    """
    if not lookups or user.is_superuser:
        return queryset
    if not (isinstance(user, User) and user.is_district_staff and user.district_id):
        return queryset.none()
    match = Q()
    for lookup in lookups:
        match |= Q(**{lookup: user.district_id})
    if len(lookups) == 1:
        return queryset.filter(match)
    # Several paths join several tables: match by key, so no row is listed twice.
    return queryset.filter(pk__in=queryset.model._default_manager.filter(match).values("pk"))


class DistrictScope(BaseModelAdmin):
    """For admin pages and their inlines: rows, choices and list filters of one district."""

    district_lookups: tuple[str, ...] = ()
    # Geometry fields of GIS pages: no inline script (the CSP), the tiles of the setting.
    # (django-stubs types this as a widget instance; GISModelAdmin takes the class.)
    gis_widget: Any = MapWidget

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return district_scoped(super().get_queryset(request), request.user, self.district_lookups)

    def scoped_choices(self, model: type[models.Model], request: HttpRequest) -> QuerySet[Any]:
        """What `request.user` may pick of `model`: the rows its own admin page shows them."""
        narrowed = self._narrowed_choices(model, request)
        return model._default_manager.all() if narrowed is None else narrowed

    def _narrowed_choices(
        self, model: type[models.Model], request: HttpRequest
    ) -> QuerySet[Any] | None:
        related = self.admin_site._registry.get(model)
        if request.user.is_superuser or not (
            isinstance(related, DistrictScope) and related.district_lookups
        ):
            return None
        ordering = related.get_ordering(request)
        rows = related.get_queryset(request)
        return rows.order_by(*ordering) if ordering else rows

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        narrowed = self._narrowed_choices(db_field.remote_field.model, request)
        if narrowed is not None and "queryset" not in kwargs:
            kwargs["queryset"] = narrowed
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        narrowed = self._narrowed_choices(db_field.remote_field.model, request)
        if narrowed is not None and "queryset" not in kwargs:
            kwargs["queryset"] = narrowed
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class DistrictScopedAdmin(DistrictScope, admin.ModelAdmin):
    """An admin page: scoped (above) and audited. Add, change and delete each write an Event
    naming the user, the row and its district; the fields changed are named, their values
    are not (they may be personal data), and neither are the rows of inlines."""

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        # One district: filtering by district is moot, and a related filter offers only the
        # values its own rows hold (not every provider of every district).
        return [self._scoped_filter(item) for item in filters if item != "district"]

    def _scoped_filter(self, item: Any) -> Any:
        if not isinstance(item, str):
            return item
        try:
            field = self.model._meta.get_field(item)
        except FieldDoesNotExist:
            return item
        return (item, admin.RelatedOnlyFieldListFilter) if field.is_relation else item

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        self._audit(request, obj, "admin.added", message)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        self._audit(request, obj, "admin.changed", message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        """Called before the rows go, so each one's district can still be read."""
        for obj in queryset:
            self._audit(request, obj, "admin.deleted", [])
        return super().log_deletions(request, queryset)

    def _audit(self, request: HttpRequest, obj: models.Model, kind: str, message: Any) -> None:
        actor = request.user if isinstance(request.user, User) else None
        event_record(
            kind=kind,
            subject_type=obj._meta.label_lower,
            subject_id=obj.pk,
            actor=actor,
            data={"via": "admin", "changes": _without_rows(message)},
            district_id=self._district_of(obj),
        )

    def _district_of(self, obj: models.Model) -> int | None:
        if not self.district_lookups:
            return None
        row = (
            type(obj)._default_manager.filter(pk=obj.pk).values_list(*self.district_lookups).first()
        )
        return next((value for value in row or () if value is not None), None)


def _without_rows(message: Any) -> list[dict[str, Any]]:
    """The admin's change message (which fields, which inline kinds) without the string form of
    any row, which may be a person's name."""
    if not isinstance(message, list):
        return []
    return [
        {action: {k: v for k, v in detail.items() if k != "object"}}
        for entry in message
        for action, detail in entry.items()
    ]


class ReadOnlyAdmin(DistrictScopedAdmin):
    """Rows that change only through the services (transition tables and the audit) or that
    are the audit itself: the admin shows them and writes nothing, not even for a superuser."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def adopt_every_admin_page(site: admin.AdminSite) -> None:
    """Pages registered by Django and libraries (groups, django-axes's lockouts) are audited
    too. They hold no district's rows: platform-wide, and no role has rights on them, so only a
    superuser uses them. Runs once the registry is complete (CoreConfig.ready)."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, DistrictScopedAdmin):
            continue
        page = type(model_admin)
        audited = type(page.__name__, (DistrictScopedAdmin, page), {"__module__": page.__module__})
        site.unregister(model)
        site.register(model, audited)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "at", "kind", "subject_type", "subject_id", "before", "after", "actor")
    list_filter = ("kind", "subject_type")
    search_fields = ("subject_id",)
    district_lookups = ("district",)
