"""Reads of the elder registry, always scoped to what the caller may see."""

from enum import StrEnum
from typing import Any

import phonenumbers
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from backend.accounts.models import STAFF_ROLES, Role, User

from .identity import age_today
from .models import AccessGrant, Elder, EmergencyContact, SmsKind

ID_NUMBER_ROLES = frozenset({Role.SUPERVISOR, Role.DISTRICT_ADMIN})
"""The roles that may reveal an elder's ID number (`POST .../id-number/reveal/`, logged), and
so the only ones shown the birth date: beside the division code and the sex it leaves 500
possible numbers. Everyone else gets the age (docs/elders.md, "Who sees what")."""


class ElderView(StrEnum):
    """How much of an elder's file a role is shown; the API picks its serializers from this."""

    FILE_WITH_BIRTH_DATE = "file_with_birth_date"  # supervisor, district admin
    FILE = "file"  # operator, family: the age, not the birth date
    FOR_WORKER = "for_worker"  # a worker holding a grant: what the job needs
    BRIEF = "brief"  # provider admin: name, gender, address


def elder_view_for(user: User) -> ElderView:
    if user.role in ID_NUMBER_ROLES:
        return ElderView.FILE_WITH_BIRTH_DATE
    if user.role in STAFF_ROLES or user.role == Role.FAMILY:
        return ElderView.FILE
    if user.role == Role.WORKER:
        return ElderView.FOR_WORKER
    return ElderView.BRIEF


def elder_lists_in_full(user: User) -> bool:
    """Whether the elder list shows this role the file's fields (age, division, care level,
    living arrangement, categories, home); the others get the brief list."""
    return elder_view_for(user) in (ElderView.FILE, ElderView.FILE_WITH_BIRTH_DATE)


def _grants_held(user: User) -> QuerySet[AccessGrant]:
    """Grants through which a user sees elders for work, live or not: a worker's own; for a
    provider admin, their own (a whole job their organisation took) and their workers'."""
    if user.role == Role.PROVIDER_ADMIN:
        return AccessGrant.objects.filter(Q(user=user) | Q(user__worker__provider__admins=user))
    return AccessGrant.objects.filter(user=user)


def grants_live(*, user: User) -> QuerySet[AccessGrant]:
    """The grants that let a user see an elder's file now (see `_grants_held`)."""
    return _grants_held(user).filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


def elders_visible_to(user: User) -> QuerySet[Elder]:
    """Staff: their district. Family: their own elders. Worker: elders they hold a live grant
    for. Provider admin: elders their workers hold or held grants for."""
    if user.is_district_staff:
        return Elder.objects.filter(district_id=user.staff_district_id)
    if user.role == Role.FAMILY:
        return Elder.objects.filter(
            Exists(EmergencyContact.objects.filter(elder=OuterRef("pk"), user=user))
        )
    if user.role == Role.WORKER:
        return Elder.objects.filter(Exists(grants_live(user=user).filter(elder=OuterRef("pk"))))
    if user.role == Role.PROVIDER_ADMIN:
        return Elder.objects.filter(Exists(_grants_held(user).filter(elder=OuterRef("pk"))))
    return Elder.objects.none()


def elder_active_grant(*, user: User, elder_id: int) -> AccessGrant | None:
    return grants_live(user=user).filter(elder_id=elder_id).order_by("-granted_at").first()


def elder_family_users(*, elder_id: int) -> QuerySet[EmergencyContact, int]:
    """The user ids of the elder's family members who have an account, as a query (to be
    combined with others into one)."""
    return EmergencyContact.objects.filter(elder_id=elder_id, user__isnull=False).values_list(
        "user_id", flat=True
    )


def elder_family_user_ids(*, elder_id: int) -> list[int]:
    return list(elder_family_users(elder_id=elder_id))


def elder_sms_contacts(*, elder_id: int, kind: str) -> QuerySet[EmergencyContact]:
    """The emergency contacts to text about `kind` (an `SmsKind`), in priority order: those who
    take texts (`wants_sms`) and chose the kind (`sms_kinds`). An emergency goes to every one
    who takes texts, whatever they chose: the safety rule the family page states."""
    if kind not in SmsKind.values:
        raise ValueError(f"unknown kind of family text: {kind!r}")
    contacts = EmergencyContact.objects.filter(elder_id=elder_id, wants_sms=True)
    if kind != SmsKind.EMERGENCY:
        contacts = contacts.filter(sms_kinds__contains=[kind])
    return contacts.order_by("priority")


def contacts_of_user(user: User) -> QuerySet[EmergencyContact]:
    """The contact entries that are a family user's own (linked by `EmergencyContact.user`),
    with their elders, by the elder's name."""
    return (
        EmergencyContact.objects.filter(user=user)
        .select_related("elder")
        .order_by("elder__full_name", "elder_id")
    )


def phone_parse(raw: str, region: str = "CN") -> PhoneNumber | None:
    """Any way people type or networks send a number: '138 0013 8000', '+86 138-0013-8000',
    '008613800138000', '0431-8888 1234'. None if it cannot be a real number."""
    try:
        number = PhoneNumber()
        phonenumbers.parse(raw, region, numobj=number)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def phone_to_e164(raw: str, region: str = "CN") -> str | None:
    number = phone_parse(raw, region)
    return None if number is None else number.as_e164


def elders_by_phone(*, user: User, phone: str) -> list[tuple[Elder, str]]:
    """Elders a caller could be, among those `user` may see (see `elders_matching_phone`)."""
    return elders_matching_phone(elders=elders_visible_to(user), phone=phone)


def elders_matching_phone(*, elders: QuerySet[Elder], phone: str) -> list[tuple[Elder, str]]:
    """Which of `elders` a caller could be, with how the number matched: own mobile, home
    landline, or an emergency contact's phone. A list, because couples and neighbours share
    landlines."""
    e164 = phone_to_e164(phone)
    if e164 is None:
        return []
    visible = elders.only(
        "id",
        "district_id",
        "full_name",
        "gender",
        "birth_date",
        "address",
        "phone",
        "landline",
        "status",
    )
    matches: dict[int, tuple[Elder, str]] = {}
    for elder in visible.filter(Q(phone=e164) | Q(landline=e164)).order_by("pk"):
        matches[elder.pk] = (elder, "mobile" if str(elder.phone) == e164 else "landline")
    contact_elders = visible.filter(
        Exists(
            EmergencyContact.objects.filter(Q(phone=e164) | Q(alt_phone=e164), elder=OuterRef("pk"))
        )
    ).order_by("pk")
    for elder in contact_elders:
        matches.setdefault(elder.pk, (elder, "contact"))
    return list(matches.values())


def elder_caller_card(elder: Elder, matched_on: str) -> dict[str, Any]:
    """What district staff are shown of a caller the number matched (the lookup, the hotline's
    screen pop): no birth date, no ID number, no health notes."""
    return {
        "id": elder.pk,
        "full_name": elder.full_name,
        "district": elder.district_id,
        "gender": elder.gender,
        "age": age_today(elder.birth_date),
        "address": elder.address,
        "status": elder.status,
        "matched_on": matched_on,
    }
