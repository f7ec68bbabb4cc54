from django.apps import AppConfig


class HotlineConfig(AppConfig):
    """The 12349 hotline: inbound calls, the voice menu, the operator queue (热线)."""

    name = "hotline"
    label = "hotline"

    def ready(self) -> None:
        """An SMS nothing on the platform took: a call-back task for the operators."""
        from backend.telephony import flows

        from .inbound_sms import sms_call_backs_open

        flows.register_sms_unhandled(sms_call_backs_open)
