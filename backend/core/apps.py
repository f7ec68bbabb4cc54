from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "backend.core"
    label = "core"

    def ready(self) -> None:
        from django.contrib import admin

        from .admin import adopt_every_admin_page

        adopt_every_admin_page(admin.site)
