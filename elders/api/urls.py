from django.urls import path

from .views import ElderDetailView, ElderListView

urlpatterns = [
    path("elders/", ElderListView.as_view(), name="elder-list"),
    path("elders/<int:pk>/", ElderDetailView.as_view(), name="elder-detail"),
]
