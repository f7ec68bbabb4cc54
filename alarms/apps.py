from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    """One-touch alarms (一键通) and their cousins: signed device messages, alarms, their life."""

    name = "alarms"
    label = "alarms"
