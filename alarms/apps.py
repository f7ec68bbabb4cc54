from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    """One-touch alarms (一键通) and their cousins: signed device messages, alarms, their life."""

    name = "alarms"
    label = "alarms"

    def ready(self) -> None:
        from backend.core.realtime import on_delivered

        from .services import alarm_delivered, alarm_delivery_counts

        # "Received to visible on an operator's socket": the first delivery is the alarm's
        # shown_at (docs/alarms.md, the figures).
        on_delivered("alarm.raised", alarm_delivered, wanted=alarm_delivery_counts)
        on_delivered("alarm.resent", alarm_delivered, wanted=alarm_delivery_counts)
