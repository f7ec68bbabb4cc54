"""The second factor: a TOTP code (django-otp) for staff (backend/accounts/factors.py)."""

import hashlib

from django.conf import settings
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework import status

from backend.core.errors import DomainError

from .models import User


class OTPRequired(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "otp_required"

    def __init__(self) -> None:
        super().__init__(
            _("Staff sign in with the code from their authenticator app as well."),
            fields={"otp": [_("required for staff: the 6-digit code from your authenticator app")]},
        )


class OTPNotEnrolled(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "otp_not_enrolled"

    def __init__(self) -> None:
        super().__init__(
            _("This staff account has no authenticator app yet: ask an administrator to enrol it."),
            fields={"otp": [_("no authenticator app enrolled for this account")]},
        )


class OTPInvalid(DomainError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "otp_invalid"

    def __init__(self) -> None:
        super().__init__(
            _("The code is wrong, expired or already used."),
            fields={"otp": [_("wrong, expired or already used")]},
        )


def otp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def otp_verify(*, user: User, code: str | None) -> TOTPDevice:
    """The device that accepts `code` now. A code is spent when accepted (it cannot be replayed)
    and the device slows down after wrong codes (django-otp's throttling, stored on the row)."""
    if not code:
        raise OTPRequired()
    device = otp_device(user)
    if device is None:
        raise OTPNotEnrolled()
    if not device.verify_token(code.strip()):
        raise OTPInvalid()
    return device


def otp_uri(device: TOTPDevice) -> str:
    """otpauth://totp/Anxin:<username>?secret=... for an authenticator app (or a QR code)."""
    return str(device.config_url)


def demo_otp_key(username: str) -> str:
    """The demo's secret for a demo staff account: derived from its name, so the same after every
    seed, and public like the demo password. Only `manage.py otp_enrol --demo` (DEBUG) and the
    demo seed use it; real accounts get random secrets."""
    return hashlib.sha256(f"anxin-demo-totp:{username}".encode()).hexdigest()[:40]


def is_demo_device(device: TOTPDevice) -> bool:
    return bool(settings.DEBUG) and device.key == demo_otp_key(device.user.get_username())
