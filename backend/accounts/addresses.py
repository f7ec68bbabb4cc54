"""The client's address, one rule for lockouts (django-axes) and throttles (DRF)."""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, unless ANXIN_TRUSTED_PROXIES of our proxies stand in front: each appends the
    address it saw to X-Forwarded-For, so the client is that many entries from the end. Entries
    further left were written by the client and prove nothing."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.ANXIN_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    return hops[-min(proxies, len(hops))]
