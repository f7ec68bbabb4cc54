"""Which WebSocket origins /ws/ accepts.

The one-time ticket in the query string is the credential; no cookie rides along, so a missing
Origin cannot be a cross-site request riding on a browser session. Native Android and iOS
clients send no Origin and app WebViews send `Origin: null`: both are let through to the ticket
check. A browser on a foreign site sends its own origin and is still refused.
"""

from channels.security.websocket import OriginValidator
from django.conf import settings


class TicketOriginValidator(OriginValidator):
    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None or parsed_origin.geturl() == "null":
            return True
        return self.validate_origin(parsed_origin)


def ticket_origin_validator(application) -> TicketOriginValidator:
    """Like Channels' AllowedHostsOriginValidator, for web origins: ALLOWED_HOSTS."""
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return TicketOriginValidator(application, allowed)
