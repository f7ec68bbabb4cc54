from django.urls import path

from . import call_back, devices, figures, staff, views

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
    path(
        "alarms/<int:pk>/call-back/", call_back.AlarmCallBackView.as_view(), name="alarm-call-back"
    ),
    path("device-problems/", devices.DeviceProblemListView.as_view(), name="device-problem-list"),
    path(
        "device-problems/<int:pk>/close/",
        devices.DeviceProblemCloseView.as_view(),
        name="device-problem-close",
    ),
]
