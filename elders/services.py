"""Writes of the elder registry. Sensitive reads (ID number, health notes) also live here,
because every one of them writes an access-log row."""

import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from backend.accounts.models import User
from backend.core.crypto import field_decrypt, field_encrypt, lookup_hash
from backend.core.errors import DomainError, RuleViolation
from backend.core.events import event_record

from .assessment import DIMENSION_MAX, barthel_errors, barthel_total, gb_level
from .identity import InvalidIdNumber, parse_id_number
from .limits import Limit, limits_hit
from .models import (
    SMS_KINDS_CHOSEN,
    AbilityAssessment,
    AccessGrant,
    AccessLog,
    AlarmDevice,
    CareNeed,
    Elder,
    EmergencyContact,
    HealthProfile,
)

ChildRow = TypeVar("ChildRow", bound=models.Model)


class ElderDataError(DomainError):
    """400 with `fields` mapping each field to its reasons, like a serializer's refusal."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__(
            gettext("The elder's data has invalid fields."), code="invalid", fields=fields
        )
        self.fields = fields


# The same words whether the elder who has the number is in the caller's district or another:
# that a number is on file somewhere is all that is told, never where.
def duplicate_id_number() -> str:
    return gettext("another elder has this ID number")


def id_number_problems(raw: str, *, birth_date: date | None, gender: str | None) -> list[str]:
    try:
        parsed = parse_id_number(raw)
    except InvalidIdNumber as exc:
        return [exc.reason]
    problems = []
    if birth_date and parsed.birth_date != birth_date:
        problems.append(gettext("the birth date inside it differs from birth_date"))
    if gender and parsed.gender != gender:
        problems.append(
            gettext("its sequence digit says %(found)s, not %(given)s")
            % {"found": parsed.gender, "given": gender}
        )
    return problems


def _apply_id_number(elder: Elder, raw: str) -> None:
    """Validate against the elder's birth date and gender, then store it encrypted."""
    problems = id_number_problems(raw, birth_date=elder.birth_date, gender=elder.gender)
    if problems:
        raise ElderDataError({"id_number": problems})
    parsed = parse_id_number(raw)
    elder.birth_date = elder.birth_date or parsed.birth_date
    elder.id_number_encrypted = field_encrypt(parsed.value)
    elder.id_number_hash = lookup_hash(parsed.value)


def elder_find_by_id_number(raw: str) -> Elder | None:
    try:
        value = parse_id_number(raw).value
    except InvalidIdNumber:
        return None
    return Elder.objects.filter(id_number_hash=lookup_hash(value)).first()


def elder_create(
    *, actor: User | None, district_id: int, id_number: str = "", **fields: Any
) -> Elder:
    elder = Elder(district_id=district_id, **fields)
    if id_number:
        _apply_id_number(elder, id_number)
    try:
        with transaction.atomic():
            elder.save()
            _record(elder, "elder.created", actor)
    except IntegrityError:
        raise ElderDataError({"id_number": [duplicate_id_number()]}) from None
    return elder


def elder_update(
    *, elder: Elder, actor: User | None, id_number: str | None = None, **fields: Any
) -> Elder:
    with transaction.atomic():
        elder = Elder.objects.select_for_update().get(pk=elder.pk)
        before_status = elder.status
        for name, value in fields.items():
            setattr(elder, name, value)
        if (
            "status" in fields
            and fields["status"] != before_status
            and "status_since" not in fields
        ):
            elder.status_since = timezone.localdate()
        if id_number:
            _apply_id_number(elder, id_number)
        try:
            with transaction.atomic():
                elder.save()
        except IntegrityError:
            raise ElderDataError({"id_number": [duplicate_id_number()]}) from None
        _record(
            elder,
            "elder.updated",
            actor,
            before=before_status,
            after=elder.status,
            data={"fields": sorted(fields) + (["id_number"] if id_number else [])},
        )
    return elder


def _record(elder: Elder, kind: str, actor: User | None, **extra: Any) -> None:
    event_record(
        kind=kind,
        subject_type="elder",
        subject_id=elder.pk,
        actor=actor,
        district_id=elder.district_id,
        **extra,
    )


# Ability assessments ------------------------------------------------------------------------


def assessment_record(
    *,
    elder: Elder,
    actor: User | None,
    assessed_on: date,
    assessor_name: str,
    self_care: int,
    basic_motor: int,
    mental_state: int,
    perception_social: int,
    unconscious: bool = False,
    barthel_items: dict[str, int] | None = None,
    notes: str = "",
) -> AbilityAssessment:
    """Keep the assessment as history and derive the elder's current care level from the
    latest one."""
    scores = {
        "self_care": self_care,
        "basic_motor": basic_motor,
        "mental_state": mental_state,
        "perception_social": perception_social,
    }
    errors = {
        name: [gettext("must be between 0 and %(most)s") % {"most": DIMENSION_MAX[name]}]
        for name, value in scores.items()
        if not 0 <= value <= DIMENSION_MAX[name]
    }
    if barthel_items is not None:
        errors.update({f"barthel_items.{k}": [v] for k, v in barthel_errors(barthel_items).items()})
    if assessed_on > timezone.localdate():
        errors["assessed_on"] = [gettext("is in the future")]
    if errors:
        raise ElderDataError(errors)
    total = sum(scores.values())
    next_due = assessed_on + timedelta(days=settings.ANXIN["REASSESS_AFTER_DAYS"])
    with transaction.atomic():
        elder = Elder.objects.select_for_update().get(pk=elder.pk)
        assessment = AbilityAssessment.objects.create(
            elder=elder,
            assessed_on=assessed_on,
            assessor=actor,
            assessor_name=assessor_name,
            total=total,
            level=gb_level(total, unconscious=unconscious),
            unconscious=unconscious,
            barthel_items=barthel_items,
            barthel_total=barthel_total(barthel_items) if barthel_items else None,
            next_due=next_due,
            notes=notes,
            **scores,
        )
        latest = elder.assessments.first() or assessment
        before = elder.care_level
        elder.care_level, elder.next_assessment_due = latest.level, latest.next_due
        elder.save(update_fields=["care_level", "next_assessment_due", "updated_at"])
        _record(
            elder,
            "elder.assessed",
            actor,
            before="" if before is None else str(before),
            after=str(elder.care_level),
            data={"assessment": assessment.pk},
        )
    return assessment


# Access grants and the access log ------------------------------------------------------------


def access_grant_issue(
    *, elder_id: int, user_id: int, purpose: str, reference: str, expires_at: datetime
) -> AccessGrant:
    return AccessGrant.objects.create(
        elder_id=elder_id,
        user_id=user_id,
        purpose=purpose,
        reference=reference,
        expires_at=expires_at,
    )


def access_grant_revoke(*, reference: str) -> int:
    return AccessGrant.objects.filter(reference=reference, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def access_log_record(*, user: User, elder: Elder, field: str, purpose: str) -> None:
    if not purpose.strip():
        raise ValueError("an access log row needs a purpose")
    AccessLog.objects.create(user=user, elder=elder, field=field, purpose=purpose.strip()[:200])


def access_log_record_many(*, user: User, reads: list[tuple[int, str]], field: str) -> None:
    """One access-log row per (elder id, purpose): a list read that showed several files."""
    AccessLog.objects.bulk_create(
        AccessLog(user=user, elder_id=elder_id, field=field, purpose=purpose.strip()[:200])
        for elder_id, purpose in reads
        if purpose.strip()
    )


@dataclass(frozen=True)
class Revealed:
    value: str
    purpose: str


def elder_id_number_reveal(*, elder: Elder, user: User, purpose: str) -> Revealed:
    if not elder.id_number_encrypted:
        return Revealed(value="", purpose=purpose)
    access_log_record(user=user, elder=elder, field="id_number", purpose=purpose)
    return Revealed(value=field_decrypt(elder.id_number_encrypted), purpose=purpose)


ID_CHECK_PER_ELDER = Limit("id-check-elder", attempts=5, window_s=3600)
ID_CHECK_PER_USER = Limit("id-check-user", attempts=20, window_s=3600)
ID_CHECK_PURPOSE = "confirm a caller's identity"
_LAST_CHARACTERS = re.compile(r"^\d{3,5}[\dX]$")


def elder_id_number_check(*, elder: Elder, user: User, last_digits: str, purpose: str = "") -> bool:
    """Does the ID number on file end with the 4 to 6 characters a caller says? Match or no
    match, nothing more; logged with the answer. At most ID_CHECK_PER_ELDER attempts on one
    elder and ID_CHECK_PER_USER by one user in a window, so the answer cannot be used to read
    the number a digit at a time."""
    said = last_digits.strip().upper()
    if not _LAST_CHARACTERS.match(said):
        raise ElderDataError(
            {"last_digits": [gettext("the last 4 to 6 characters (digits, X last)")]}
        )
    if not elder.id_number_encrypted:
        raise RuleViolation(gettext("No ID number is on file for this elder."), code="no_id_number")
    limits_hit(
        [(ID_CHECK_PER_USER, user.pk), (ID_CHECK_PER_ELDER, elder.pk)],
        what=gettext("check this ID number"),
    )
    on_file = field_decrypt(elder.id_number_encrypted)
    match = hmac.compare_digest(on_file[-len(said) :].encode(), said.encode())
    access_log_record(
        user=user,
        elder=elder,
        field="id_number_check",
        purpose=f"{purpose.strip()[:180] or ID_CHECK_PURPOSE}: {'match' if match else 'no match'}",
    )
    return match


def health_profile_read(*, elder: Elder, user: User, purpose: str) -> HealthProfile:
    access_log_record(user=user, elder=elder, field="health", purpose=purpose)
    return HealthProfile.objects.filter(elder=elder).first() or HealthProfile(elder=elder)


def assessments_read(*, elder: Elder, user: User, purpose: str) -> QuerySet[AbilityAssessment]:
    """The elder's ability assessments, newest first; the read is logged like health notes."""
    access_log_record(user=user, elder=elder, field="assessments", purpose=purpose)
    return AbilityAssessment.objects.filter(elder=elder).order_by("-assessed_on", "-pk")


def care_plan_read(*, elder: Elder, user: User, purpose: str) -> QuerySet[CareNeed]:
    """The care plan with its notes (door codes, habits, health hints); the read is logged."""
    access_log_record(user=user, elder=elder, field="care_plan", purpose=purpose)
    return CareNeed.objects.filter(elder=elder).order_by("pk")


def health_profile_write(*, elder: Elder, user: User, **fields: str) -> HealthProfile:
    with transaction.atomic():
        profile, _ = HealthProfile.objects.update_or_create(elder=elder, defaults=fields)
        _record(elder, "elder.health_updated", user, data={"fields": sorted(fields)})
    return profile


def elder_child_add(
    *, elder: Elder, actor: User, model: type[ChildRow], fields: dict[str, Any]
) -> ChildRow:
    """Add a contact, care need, device or consent to the elder's file, with its event."""
    try:
        with transaction.atomic():
            row = model._default_manager.create(elder=elder, **fields)
            _record(elder, f"elder.{model._meta.model_name}_added", actor, data={"id": row.pk})
    except IntegrityError as exc:
        raise ElderDataError({"non_field_errors": [_integrity_reason(exc)]}) from None
    return row


def contact_messages_set(
    *, contact: EmergencyContact, actor: User, wants_sms: bool, sms_kinds: Iterable[str]
) -> EmergencyContact:
    """Which texts a contact gets: none at all (`wants_sms` off), or emergencies and the kinds
    chosen of `SMS_KINDS_CHOSEN`. Recorded on the elder's file like the contact's addition."""
    kinds = sorted(set(sms_kinds))
    unknown = [kind for kind in kinds if kind not in SMS_KINDS_CHOSEN]
    if unknown:
        raise ElderDataError(
            {"sms_kinds": [gettext("not a kind of message to choose: %s") % ", ".join(unknown)]}
        )
    with transaction.atomic():
        contact = (
            EmergencyContact.objects.select_for_update(of=("self",))
            .select_related("elder")
            .get(pk=contact.pk)
        )
        before = {"wants_sms": contact.wants_sms, "sms_kinds": sorted(contact.sms_kinds)}
        contact.wants_sms, contact.sms_kinds = wants_sms, kinds
        contact.save(update_fields=["wants_sms", "sms_kinds"])
        _record(
            contact.elder,
            "elder.contact_messages_set",
            actor,
            data={"id": contact.pk, "before": before, "wants_sms": wants_sms, "sms_kinds": kinds},
        )
    return contact


# Alarm devices -------------------------------------------------------------------------------


def device_register(
    *, elder: Elder, actor: User, fields: dict[str, Any]
) -> tuple[AlarmDevice, str]:
    """Register a device on the elder's file with a new secret; the secret is returned for the
    caller to show once and is kept only encrypted."""
    secret = _device_secret_new()
    device = elder_child_add(
        elder=elder,
        actor=actor,
        model=AlarmDevice,
        fields={**fields, "secret_encrypted": field_encrypt(secret)},
    )
    return device, secret


def device_secret_rotate(*, device_id: int, actor: User) -> tuple[AlarmDevice, str]:
    """Give the device a new secret (the old one stops working at once); shown once."""
    secret = _device_secret_new()
    with transaction.atomic():
        device = AlarmDevice.objects.select_for_update().select_related("elder").get(pk=device_id)
        device.secret_encrypted = field_encrypt(secret)
        device.save(update_fields=["secret_encrypted"])
        _record(
            device.elder,
            "elder.device_secret_rotated",
            actor,
            data={"id": device.pk, "serial": device.serial},
        )
    return device, secret


def device_secret(device: AlarmDevice) -> str:
    """The secret the device signs with, or "" for a device that has none yet."""
    return field_decrypt(device.secret_encrypted) if device.secret_encrypted else ""


def device_seen(*, device: AlarmDevice, at: datetime, battery: int | None) -> None:
    """The device spoke at `at` (its own clock), with its battery level if it gave one.

    Precondition: the caller holds the device's row lock. A late message never moves the last
    heartbeat back."""
    fields = []
    if device.last_heartbeat_at is None or at > device.last_heartbeat_at:
        device.last_heartbeat_at = at
        fields.append("last_heartbeat_at")
        if battery is not None:
            device.battery_pct = battery
            fields.append("battery_pct")
    if fields:
        device.save(update_fields=fields)


def _device_secret_new() -> str:
    return secrets.token_hex(32)


def _integrity_reason(exc: IntegrityError) -> str:
    text = str(exc)
    if "contact_priority_unique" in text:
        return gettext("another contact already has this priority")
    if "serial" in text:
        return gettext("a device with this serial is already registered")
    return gettext("conflicts with an existing record")
