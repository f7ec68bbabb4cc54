"""Lockouts after wrong passwords (django-axes), by account and address together.

Attempts are counted in the shared cache, one counter per (username, address) that expires
after the cool-off. The addresses that tried an account are kept beside them, so that a
supervisor can unlock the account from every address at once."""

import hashlib
from typing import Any

from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_cool_off, get_failure_limit, make_cache_key_list
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from backend.core.errors import API_PREFIX, DomainError

MAX_ADDRESSES = 200  # per account: enough for any real use, bounded under attack
MESSAGE = _(
    "Too many wrong sign-ins for this account from here. Try again later or ask a supervisor."
)


class LockedOut(DomainError):
    """429: this account is locked from this address; `wait` becomes Retry-After."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"

    def __init__(self) -> None:
        self.wait = cool_off_seconds()
        super().__init__(str(MESSAGE), retry_after=self.wait)


def cool_off_seconds() -> int:
    cool_off = get_cool_off()
    return int(cool_off.total_seconds()) if cool_off else 0


def _attempts_key(username: str, address: str) -> str:
    return make_cache_key_list([{"username": username, "ip_address": address}])[0]


def _addresses_key(username: str) -> str:
    return "lockout-addresses:" + hashlib.sha256(username.encode()).hexdigest()


def is_locked_out(*, username: str, address: str) -> bool:
    failures = cache.get(_attempts_key(username, address), 0)
    return failures >= get_failure_limit(None, {"username": username})


def lockout_clear(*, username: str) -> int:
    """Forget the wrong attempts at this account from every address; how many were locked."""
    addresses: list[str] = cache.get(_addresses_key(username), [])
    locked = sum(is_locked_out(username=username, address=a) for a in addresses)
    for address in addresses:
        cache.delete(_attempts_key(username, address))
    cache.delete(_addresses_key(username))
    return locked


class LockoutHandler(AxesCacheHandler):
    """axes' cache handler, which also keeps the addresses that tried each account."""

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        username = (credentials or {}).get(
            getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")
        )
        address = getattr(request, "axes_ip_address", None)
        if not username or not address:
            return
        key = _addresses_key(username)
        addresses: list[str] = cache.get(key, [])
        if address not in addresses:
            addresses = [*addresses, address][-MAX_ADDRESSES:]
        cache.set(key, addresses, cool_off_seconds() or None)

    def reset_attempts(self, *, ip_address=None, username=None, ip_or_username=False) -> int:
        if username is not None and ip_address is None:
            return lockout_clear(username=username)
        return super().reset_attempts(
            ip_address=ip_address, username=username, ip_or_username=ip_or_username
        )


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """What a locked-out Django login (session, admin) answers: 429 with Retry-After, in the
    project's JSON error shape on API paths."""
    wait = cool_off_seconds()
    response: HttpResponse
    if request.path.startswith(API_PREFIX):
        response = JsonResponse(
            {
                "error": {
                    "code": "locked_out",
                    "message": str(MESSAGE),
                    "fields": {},
                    "retry_after": wait,
                }
            },
            status=429,
        )
    else:
        response = HttpResponse(str(MESSAGE), status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(wait)
    return response
