from django.urls import path

from . import figures, staff, views

urlpatterns = [
    path("alarms/", views.AlarmIngestView.as_view(), name="alarm-ingest"),
    path("alarms/queue/", staff.AlarmQueueView.as_view(), name="alarm-queue"),
    path("alarms/figures/", figures.AlarmFiguresView.as_view(), name="alarm-figures"),
    path(
        "alarms/<int:pk>/acknowledge/",
        staff.AlarmAcknowledgeView.as_view(),
        name="alarm-acknowledge",
    ),
    path("alarms/<int:pk>/dispatch/", staff.AlarmDispatchView.as_view(), name="alarm-dispatch"),
    path("alarms/<int:pk>/close/", staff.AlarmCloseView.as_view(), name="alarm-close"),
]
