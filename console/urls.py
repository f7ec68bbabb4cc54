from django.urls import path

from .views import auth, shell

app_name = "console"

urlpatterns = [
    path("", shell.home, name="home"),
    path("sign-in/", auth.ConsoleSignInView.as_view(), name="sign-in"),
    path("sign-out/", auth.sign_out, name="sign-out"),
]
