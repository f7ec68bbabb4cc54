from django.urls import path

from . import actions, views

app_name = "family"

urlpatterns = [
    path("", views.home, name="home"),
    path("elders/<int:pk>/visits/", views.elder_visits, name="elder-visits"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-in/code/", views.sign_in_code, name="sign-in-code"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("visits/<int:pk>/rate/", actions.rate, name="rate"),
    path("visits/<int:pk>/complain/", actions.complain, name="complain"),
    path("ask/", actions.ask, name="ask"),
    path("messages/", actions.messages_page, name="messages"),
    path("messages/<int:pk>/", actions.messages_set, name="messages-set"),
]
