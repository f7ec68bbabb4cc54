from django.apps import AppConfig


class HotlineConfig(AppConfig):
    """The 12349 hotline: inbound calls, the voice menu, the operator queue (热线)."""

    name = "hotline"
    label = "hotline"
