from django.urls import path

from . import views

urlpatterns = [
    path("elders/", views.ElderListView.as_view(), name="elder-list"),
    path("elders/features/", views.ElderFeaturesView.as_view(), name="elder-features"),
    path("elders/lookup/", views.ElderLookupView.as_view(), name="elder-lookup"),
    path("elders/<int:pk>/", views.ElderDetailView.as_view(), name="elder-detail"),
    path(
        "elders/<int:pk>/id-number/reveal/",
        views.IdNumberRevealView.as_view(),
        name="elder-id-reveal",
    ),
    path(
        "elders/<int:pk>/id-number/check/",
        views.IdNumberCheckView.as_view(),
        name="elder-id-check",
    ),
    path("elders/<int:pk>/health/", views.HealthView.as_view(), name="elder-health"),
    path("elders/<int:pk>/assessments/", views.AssessmentsView.as_view(), name="elder-assessments"),
    path("elders/<int:pk>/contacts/", views.ContactsView.as_view(), name="elder-contacts"),
    path("elders/<int:pk>/care-needs/", views.CareNeedsView.as_view(), name="elder-care-needs"),
    path("elders/<int:pk>/devices/", views.DevicesView.as_view(), name="elder-devices"),
    path(
        "devices/<int:pk>/rotate-secret/",
        views.DeviceSecretRotateView.as_view(),
        name="device-rotate-secret",
    ),
    path("elders/<int:pk>/consents/", views.ConsentsView.as_view(), name="elder-consents"),
    path("elders/<int:pk>/access-log/", views.AccessLogView.as_view(), name="elder-access-log"),
]
