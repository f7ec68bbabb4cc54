"""Request rates: anonymous callers per address, writes per signed-in user by role.

Counted in the shared cache, so a limit holds across server processes. Rates are read from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] on each request (not once at import, as DRF's own
classes do): a scope without a rate is not limited."""

import hashlib
from typing import Any

from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from backend.core.breaker import cache as cache_breaker

from .addresses import client_address


class _SettingsRateThrottle(SimpleRateThrottle):
    def __init__(self) -> None:  # the scope, and so the rate, is known per request
        self.rate: str | None = None

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return str(rate) if rate else None

    def _limit(self, request: Request, view: Any, scope: str) -> bool:
        self.scope = scope
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def throttle_success(self) -> bool:
        # Redis failed lately (backend/core/breaker.py): the history read came back empty and
        # limits fail open; writing it back would cost each request a socket timeout.
        if not cache_breaker.closed():
            return True
        return super().throttle_success()


class AnonThrottle(_SettingsRateThrottle):
    """Every request of a caller who is not signed in, per client address (rate `anon`)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.user and request.user.is_authenticated:
            return True
        return self._limit(request, view, "anon")

    def get_cache_key(self, request: Request, view: Any) -> str:
        return f"throttle:{self.scope}:{client_address(request)}"


class RoleWriteThrottle(_SettingsRateThrottle):
    """Writes (not GET, HEAD, OPTIONS) of a signed-in user: rate `<kind>.<role>`, where the
    kind is `write` unless a subclass says otherwise for the request."""

    def kind(self, request: Request, view: Any) -> str | None:
        return "write"

    def allow_request(self, request: Request, view: Any) -> bool:
        user = request.user
        if request.method in SAFE_METHODS or not (user and user.is_authenticated):
            return True
        kind = self.kind(request, view)
        if kind is None:
            return True
        return self._limit(request, view, f"{kind}.{getattr(user, 'role', '')}")

    def get_cache_key(self, request: Request, view: Any) -> str:
        return f"throttle:{self.scope}:{request.user.pk}"


class AlarmDeviceThrottle(_SettingsRateThrottle):
    """Messages of one alarm device (rate `alarms`), by the serial it names, so that a gateway
    posting many devices' messages from one address is not limited as one caller. The endpoint
    signs in nobody: this is its only throttle."""

    def allow_request(self, request: Request, view: Any) -> bool:
        return self._limit(request, view, "alarms")

    def get_cache_key(self, request: Request, view: Any) -> str:
        serial = request.headers.get("X-Anxin-Device", "")
        return f"throttle:{self.scope}:{hashlib.sha256(serial.encode()).hexdigest()[:32]}"
