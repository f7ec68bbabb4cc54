from django.urls import path

from . import sanctions, views

urlpatterns = [
    path("providers/", views.ProviderListView.as_view(), name="provider-list"),
    path("providers/features/", views.ProviderFeaturesView.as_view(), name="provider-features"),
    path("providers/<int:pk>/", views.ProviderDetailView.as_view(), name="provider-detail"),
    path("providers/<int:pk>/status/", views.ProviderStatusView.as_view(), name="provider-status"),
    path(
        "providers/<int:pk>/services/",
        views.ProviderServicesView.as_view(),
        name="provider-services",
    ),
    path(
        "providers/<int:pk>/workers/", views.ProviderWorkersView.as_view(), name="provider-workers"
    ),
    path("providers/<int:pk>/credit/", views.ProviderCreditView.as_view(), name="provider-credit"),
    path(
        "providers/<int:pk>/sanctions/",
        views.ProviderSanctionsView.as_view(),
        name="provider-sanctions",
    ),
    path("sanctions/", sanctions.SanctionListView.as_view(), name="sanction-list"),
    path("sanctions/<int:pk>/appeal/", views.SanctionAppealView.as_view(), name="sanction-appeal"),
    path("provider-changes/", views.ProviderChangeListView.as_view(), name="provider-change-list"),
    path(
        "provider-changes/<int:pk>/",
        views.ProviderChangeDetailView.as_view(),
        name="provider-change-detail",
    ),
    path(
        "provider-changes/<int:pk>/decide/",
        views.ProviderChangeDecideView.as_view(),
        name="provider-change-decide",
    ),
    path("appeals/", views.AppealListView.as_view(), name="appeal-list"),
    path("appeals/<int:pk>/decide/", views.AppealDecideView.as_view(), name="appeal-decide"),
    path("workers/me/shift/", views.MyShiftView.as_view(), name="worker-shift"),
    path("workers/me/location/", views.MyLocationView.as_view(), name="worker-location"),
    path("workers/<int:pk>/", views.WorkerDetailView.as_view(), name="worker-detail"),
    path(
        "workers/<int:pk>/certificates/",
        views.WorkerCertificatesView.as_view(),
        name="worker-certificates",
    ),
]
