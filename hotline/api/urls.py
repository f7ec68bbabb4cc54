from django.urls import path

from . import views

urlpatterns = [
    path("calls/", views.CallWaitingListView.as_view(), name="call-list"),
    path("calls/<int:pk>/take/", views.CallTakeView.as_view(), name="call-take"),
    path("call-backs/", views.CallBackListView.as_view(), name="call-back-list"),
    path("call-backs/<int:pk>/take/", views.CallBackTakeView.as_view(), name="call-back-take"),
    path("call-backs/<int:pk>/close/", views.CallBackCloseView.as_view(), name="call-back-close"),
]
