from django.urls import path

from . import views

urlpatterns = [
    path(
        "elders/<int:pk>/entitlements/",
        views.ElderEntitlementsView.as_view(),
        name="elder-entitlements",
    ),
    path(
        "providers/<int:pk>/statements/",
        views.ProviderStatementsView.as_view(),
        name="provider-statements",
    ),
    path("statements/<int:pk>/", views.StatementDetailView.as_view(), name="statement-detail"),
    path("statements/<int:pk>/csv/", views.StatementCsvView.as_view(), name="statement-csv"),
    path("statements/<int:pk>/xlsx/", views.StatementXlsxView.as_view(), name="statement-xlsx"),
]
