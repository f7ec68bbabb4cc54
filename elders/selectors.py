from django.db.models import QuerySet

from backend.accounts.models import Role, User

from .models import Elder, EmergencyContact


def elders_visible_to(user: User) -> QuerySet[Elder]:
    """Staff see their district's elders; a family account sees only its own elders."""
    if user.is_district_staff:
        return Elder.objects.filter(district_id=user.district_id)
    if user.role == Role.FAMILY:
        return Elder.objects.filter(contacts__user=user).distinct()
    return Elder.objects.none()


def elder_family_user_ids(*, elder_id: int) -> list[int]:
    return list(
        EmergencyContact.objects.filter(elder_id=elder_id, user__isnull=False).values_list(
            "user_id", flat=True
        )
    )


def elder_first_sms_contact(*, elder_id: int) -> EmergencyContact | None:
    return (
        EmergencyContact.objects.filter(elder_id=elder_id, wants_sms=True)
        .order_by("priority")
        .first()
    )
