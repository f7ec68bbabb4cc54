"""Reads of accounts, scoped to the staff member asking."""

from django.db.models import Q, QuerySet

from .models import User

# Who in a district its supervisors and administrators answer for: its staff, the workers and
# administrators of its providers, and the families of its elders.
USER_DISTRICT_LOOKUPS = (
    "district",
    "worker__provider__district",
    "administered_providers__district",
    "elder_contacts__elder__district",
)


def users_managed_by(actor: User) -> QuerySet[User]:
    """The accounts of `actor`'s district (none unless `actor` is district staff)."""
    if not actor.is_district_staff:
        return User.objects.none()
    match = Q()
    for lookup in USER_DISTRICT_LOOKUPS:
        match |= Q(**{lookup: actor.staff_district_id})
    return User.objects.filter(pk__in=User.objects.filter(match).values("pk"))
