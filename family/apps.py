from django.apps import AppConfig


class FamilyConfig(AppConfig):
    name = "family"
    label = "family"
    verbose_name = "Family page"
