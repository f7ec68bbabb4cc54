from django.apps import AppConfig


class SettlementConfig(AppConfig):
    """Who pays for a visit (payers and each elder's monthly entitlements), the month's
    settlement of verified visits among them, and the providers' monthly statements."""

    name = "settlement"
    label = "settlement"
