from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"

    def ready(self) -> None:
        from backend.core.realtime import register

        from .realtime import location_message

        register("location", "location.ack", location_message)
