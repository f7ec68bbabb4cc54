from django.urls import path

from . import oversight, views

urlpatterns = [
    path("requests/", views.RequestListCreateView.as_view(), name="request-list"),
    path("requests/<int:pk>/", views.RequestDetailView.as_view(), name="request-detail"),
    path("requests/<int:pk>/cancel/", views.RequestCancelView.as_view(), name="request-cancel"),
    path("requests/<int:pk>/check-in/", views.CheckInView.as_view(), name="request-check-in"),
    path("requests/<int:pk>/check-out/", views.CheckOutView.as_view(), name="request-check-out"),
    path(
        "requests/<int:pk>/assign-worker/",
        views.RequestAssignWorkerView.as_view(),
        name="request-assign-worker",
    ),
    path("requests/<int:pk>/set-out/", views.RequestSetOutView.as_view(), name="request-set-out"),
    path("requests/<int:pk>/assign/", views.RequestOverrideView.as_view(), name="request-assign"),
    path("requests/<int:pk>/explain/", views.RequestExplainView.as_view(), name="request-explain"),
    path("requests/<int:pk>/close/", views.RequestCloseView.as_view(), name="request-close"),
    path("requests/<int:pk>/fail/", views.RequestFailView.as_view(), name="request-fail"),
    path("requests/<int:pk>/retry/", views.RequestRetryView.as_view(), name="request-retry"),
    path("service-types/", views.ServiceTypeListView.as_view(), name="service-type-list"),
    path(
        "requests/<int:pk>/feedback/", views.RequestFeedbackView.as_view(), name="request-feedback"
    ),
    path("visits/exceptions/", views.VisitExceptionListView.as_view(), name="visit-exception-list"),
    path(
        "visits/<int:pk>/exception/",
        views.VisitExceptionDecideView.as_view(),
        name="visit-exception-decide",
    ),
    path("alerts/", views.AlertListView.as_view(), name="alert-list"),
    path(
        "alerts/<int:pk>/acknowledge/",
        views.AlertAcknowledgeView.as_view(),
        name="alert-acknowledge",
    ),
    path("alerts/<int:pk>/resolve/", views.AlertResolveView.as_view(), name="alert-resolve"),
    path("complaints/", views.ComplaintListView.as_view(), name="complaint-list"),
    path(
        "complaints/<int:pk>/decide/", views.ComplaintDecideView.as_view(), name="complaint-decide"
    ),
    path(
        "figures/responses/",
        oversight.ResponseFiguresView.as_view(),
        name="response-figures",
    ),
    path("figures/quality/", oversight.ProviderQualityView.as_view(), name="provider-quality"),
    path("offers/", views.OfferListView.as_view(), name="offer-list"),
    path("offers/<int:pk>/accept/", views.OfferAcceptView.as_view(), name="offer-accept"),
    path("offers/<int:pk>/decline/", views.OfferDeclineView.as_view(), name="offer-decline"),
    path("offers/<int:pk>/opened/", views.OfferOpenedView.as_view(), name="offer-opened"),
]
