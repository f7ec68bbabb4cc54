from django.apps import AppConfig


class EldersConfig(AppConfig):
    name = "elders"
