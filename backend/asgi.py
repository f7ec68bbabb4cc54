"""One process serves HTTP (Django) and the WebSocket endpoint /ws/ (Channels)."""

from django.core.asgi import get_asgi_application

# DJANGO_SETTINGS_MODULE is required, never defaulted (backend/__init__.py).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from backend.core.consumers import EventsConsumer  # noqa: E402
from backend.core.origins import ticket_origin_validator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": ticket_origin_validator(URLRouter([path("ws/", EventsConsumer.as_asgi())])),
    }
)
