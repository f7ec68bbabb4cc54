"""What each staff role may do in the admin site: one table, read by an authorisation backend.

Nobody runs a district as a superuser: a district administrator's or a supervisor's admin
rights come from the role, and the admin pages (backend/core/admin.py) show each of them only
their own district's rows. The superuser is the platform operator, for every district. The
table grants no object-level rights and nothing to a user who is not active staff.
"""

from typing import Any

from django.contrib.auth.backends import BaseBackend

from .models import Role

VIEW = ("view",)
EDIT = ("view", "add", "change")
ALL = ("view", "add", "change", "delete")

# Work orders, offers, visits, sanctions, credit, assessments, grants and the access log change
# only through the services (transition tables, audit), so the admin only shows them. The
# service catalogue serves every district: one district's administrator reads it.
DISTRICT_ADMIN: dict[str, tuple[str, ...]] = {
    "accounts.user": EDIT,
    "accounts.district": VIEW,
    "core.event": VIEW,
    "elders.elder": EDIT,
    "elders.emergencycontact": ALL,
    "elders.careneed": ALL,
    "elders.alarmdevice": ALL,
    "elders.consent": ALL,
    "elders.abilityassessment": VIEW,
    "elders.accessgrant": VIEW,
    "elders.accesslog": VIEW,
    "providers.provider": EDIT,
    "providers.providerservice": ALL,
    "providers.worker": EDIT,
    "providers.certificate": ALL,
    "providers.shiftchange": VIEW,
    "providers.creditevent": VIEW,
    "providers.sanction": VIEW,
    "providers.appeal": VIEW,
    "dispatch.servicetype": VIEW,
    "dispatch.servicerequest": VIEW,
    "dispatch.joboffer": VIEW,
    "dispatch.visit": VIEW,
    "hotline.hotlinenumber": EDIT,
    "hotline.call": VIEW,
    "hotline.callback": VIEW,
}

ADMIN_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    Role.DISTRICT_ADMIN: DISTRICT_ADMIN,
    Role.SUPERVISOR: dict.fromkeys(DISTRICT_ADMIN, VIEW),
}


def role_permissions(role: str) -> frozenset[str]:
    """The role's admin permissions as Django names them ("elders.change_elder")."""
    return frozenset(
        f"{app}.{action}_{model}"
        for label, actions in ADMIN_PERMISSIONS.get(role, {}).items()
        for app, model in [label.split(".")]
        for action in actions
    )


class RolePermissionBackend(BaseBackend):
    """Authorises, never authenticates: `authenticate` is BaseBackend's, which returns None."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if obj is not None or not (user_obj.is_active and getattr(user_obj, "is_staff", False)):
            return set()
        return set(role_permissions(getattr(user_obj, "role", "")))

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return any(p.startswith(f"{app_label}.") for p in self.get_all_permissions(user_obj))
