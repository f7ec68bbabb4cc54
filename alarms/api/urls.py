from django.urls import path

from . import views

urlpatterns = [
    path("alarms/", views.AlarmIngestView.as_view(), name="alarm-ingest"),
]
