from django.apps import AppConfig


class DistrictConfig(AppConfig):
    """District oversight (民政): coverage of the 15-minute circle and the district's figures."""

    name = "district"
    verbose_name = "District oversight"
