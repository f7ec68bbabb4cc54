"""Signing a family member in with a one-time SMS code (短信验证码登录).

The answer to "send me a code" is the same whether or not the number is a family member's: the
limits count every request, and a code is made and sent only when the number is the phone of
exactly one active family user. Only a keyed hash of a code is kept; a code ends when used,
when a newer one is sent, after `CODE_LIFETIME`, or after `CODE_ATTEMPTS` wrong tries."""

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.accounts.models import Role, User
from backend.core.errors import DomainError
from backend.core.i18n import language_for_user
from backend.telephony.models import Channel
from backend.telephony.services import notify
from elders.limits import Limit, limits_hit

from .models import SignInCode

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
CODE_ATTEMPTS = 5  # wrong tries of one code before it ends
SMS_TEMPLATE = "sms.family_sign_in_code"
_HASH_SALT = "anxin.family.sign_in_code"

# Codes sent, and codes tried, per number and per client address.
SEND_PER_NUMBER = Limit("family.code_send.number", attempts=5, window_s=3600)
SEND_PER_ADDRESS = Limit("family.code_send.address", attempts=20, window_s=3600)
VERIFY_PER_NUMBER = Limit("family.code_verify.number", attempts=10, window_s=3600)
VERIFY_PER_ADDRESS = Limit("family.code_verify.address", attempts=30, window_s=3600)


class CodeRefused(DomainError):
    """400: no live code of this number matches (wrong, expired, used or tried too often).
    One refusal for all, so it tells nothing about the number."""

    default_code = "code_refused"
    message = gettext_lazy("That code is wrong or has expired. Ask for a new code.")

    def __init__(self) -> None:
        super().__init__(str(self.message))


def _number_key(phone: str) -> str:
    # The limits' cache keys name a number without holding it.
    return salted_hmac(f"{_HASH_SALT}.number", phone, algorithm="sha256").hexdigest()[:32]


def _code_hash(salt: str, code: str) -> str:
    return salted_hmac(_HASH_SALT, f"{salt}:{code}", algorithm="sha256").hexdigest()


def family_user_by_phone(*, phone: str) -> User | None:
    """The one active family user whose phone this is (E.164), or None (none, or several)."""
    users = list(User.objects.filter(role=Role.FAMILY, is_active=True, phone=phone)[:2])
    return users[0] if len(users) == 1 else None


def sign_in_code_send(*, phone: str, address: str) -> None:
    """Count a request for a code to `phone` (E.164) from `address`; if the number is a family
    member's, end their live codes and send a new one by SMS. Raises TooManyAttempts past a
    limit, for any number alike; otherwise returns nothing either way."""
    limits_hit(
        [(SEND_PER_NUMBER, _number_key(phone)), (SEND_PER_ADDRESS, address)],
        what=_("send a sign-in code"),
    )
    user = family_user_by_phone(phone=phone)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    salt = secrets.token_hex(16)
    code_hash = _code_hash(salt, code)  # computed for any number: the same work either way
    if user is None:
        return
    now = timezone.now()
    with transaction.atomic():
        SignInCode.objects.filter(user=user, ended_at__isnull=True).update(ended_at=now)
        row = SignInCode.objects.create(
            user=user, salt=salt, code_hash=code_hash, expires_at=now + CODE_LIFETIME
        )
        notify(
            event=f"family.sign_in_code:{row.pk}",
            to=phone,
            channel=Channel.SMS,
            template=SMS_TEMPLATE,
            params={"code": code, "minutes": int(CODE_LIFETIME.total_seconds() // 60)},
            language=language_for_user(user),
            quiet_hours=False,  # asked for now
        )


def sign_in_code_verify(*, phone: str, code: str, address: str) -> User:
    """The family user whose newest live code for `phone` is `code`; the code ends with it.
    Raises TooManyAttempts past a limit, CodeRefused otherwise (a wrong try counts against
    the code, committed before the refusal)."""
    limits_hit(
        [(VERIFY_PER_NUMBER, _number_key(phone)), (VERIFY_PER_ADDRESS, address)],
        what=_("sign in"),
    )
    user = family_user_by_phone(phone=phone)
    if user is None:
        raise CodeRefused()
    now = timezone.now()
    with transaction.atomic():
        row = (
            SignInCode.objects.select_for_update()
            .filter(user=user, ended_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at")
            .first()
        )
        if row is None:
            matched = False
        else:
            row.attempts += 1
            matched = constant_time_compare(row.code_hash, _code_hash(row.salt, code))
            if matched or row.attempts >= CODE_ATTEMPTS:
                row.ended_at = now
            row.save(update_fields=["attempts", "ended_at"])
    if not matched:
        raise CodeRefused()
    return user
