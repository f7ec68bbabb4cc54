from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "backend.telephony"
    label = "telephony"
