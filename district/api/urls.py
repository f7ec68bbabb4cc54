from django.urls import path

from . import views

urlpatterns = [
    path("coverage/", views.CoverageView.as_view(), name="coverage"),
    path("coverage/gaps/", views.CoverageGapsView.as_view(), name="coverage-gaps"),
    path("coverage/grid/", views.CoverageGridView.as_view(), name="coverage-grid"),
]
