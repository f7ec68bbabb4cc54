from django.urls import path

from .views import MyLocationView, MyShiftView

urlpatterns = [
    path("workers/me/shift/", MyShiftView.as_view(), name="worker-shift"),
    path("workers/me/location/", MyLocationView.as_view(), name="worker-location"),
]
