from django.urls import path

from .views import EventFeedView, WebSocketTicketView

urlpatterns = [
    path("events/", EventFeedView.as_view(), name="events"),
    path("ws-ticket/", WebSocketTicketView.as_view(), name="ws-ticket"),
]
