from django.urls import path

from .views import auth, queue, shell

app_name = "console"

urlpatterns = [
    path("", shell.home, name="home"),
    path("sign-in/", auth.ConsoleSignInView.as_view(), name="sign-in"),
    path("sign-out/", auth.sign_out, name="sign-out"),
    path("queue/", queue.queue, name="queue"),
    path("alarms/<int:pk>/acknowledge/", queue.alarm_acknowledge, name="alarm-acknowledge"),
    path("alarms/<int:pk>/dispatch/", queue.alarm_dispatch, name="alarm-dispatch"),
    path("alarms/<int:pk>/close/", queue.alarm_close, name="alarm-close"),
    path("alerts/<int:pk>/acknowledge/", queue.alert_acknowledge, name="alert-acknowledge"),
    path("alerts/<int:pk>/resolve/", queue.alert_resolve, name="alert-resolve"),
    path("call-backs/<int:pk>/take/", queue.call_back_take, name="call-back-take"),
    path("call-backs/<int:pk>/close/", queue.call_back_close, name="call-back-close"),
]
