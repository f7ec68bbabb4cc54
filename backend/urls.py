from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from django_otp.admin import OTPAdminSite
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backend.accounts.views import SignInView
from backend.core.health import healthz, healthz_live

# The admin asks for the second factor too: a password alone opens none of it.
admin.site.__class__ = OTPAdminSite

api_v1 = [
    path("", include("backend.accounts.api.urls")),
    path("", include("backend.core.api.urls")),
    path("", include("elders.api.urls")),
    path("", include("providers.api.urls")),
    path("", include("dispatch.api.urls")),
    path("", include("hotline.api.urls")),
    path("", include("alarms.api.urls")),
    path("", include("settlement.api.urls")),
    path("", include("district.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("healthz/live", healthz_live, name="healthz-live"),
    path("api-auth/login/", SignInView.as_view(), name="sign-in"),  # before DRF's own
    path("api-auth/", include("rest_framework.urls")),
    path("api/v1/", include(api_v1)),
    path("hooks/twilio/", include("hotline.urls")),
    path("console/", include("console.urls")),
    path("worker/", include("workerapp.urls")),
    path("family/", include("family.urls")),
    # gettext for our scripts: the djangojs catalogue of locale/ (LOCALE_PATHS) and Django's.
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["backend.core"]),
        name="javascript-catalog",
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves the page's script from its own URL: no inline script (the CSP).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="core/swagger_ui.html"
        ),
        name="api-docs",
    ),
]

# Errors outside DRF's views (an unknown /api/ URL, a middleware) answer JSON on /api/ too.
handler404 = "backend.core.errors.page_not_found"
handler500 = "backend.core.errors.server_error"
