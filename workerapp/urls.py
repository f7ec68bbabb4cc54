from django.urls import path

from .views import auth, home, shell, visit

app_name = "workerapp"

urlpatterns = [
    path("", home.home, name="home"),
    path("manifest.webmanifest", shell.manifest, name="manifest"),
    path("sw.js", shell.service_worker, name="service-worker"),
    path("sign-in/", auth.WorkerSignInView.as_view(), name="sign-in"),
    path("sign-out/", auth.sign_out, name="sign-out"),
    path("shift/", home.shift, name="shift"),
    path("offers/", home.offers, name="offers"),
    path("offers/<int:pk>/accept/", home.offer_accept_view, name="offer-accept"),
    path("offers/<int:pk>/decline/", home.offer_decline_view, name="offer-decline"),
    path("jobs/<int:pk>/", visit.job, name="job"),
    path("jobs/<int:pk>/set-out/", visit.set_out, name="set-out"),
    path("jobs/<int:pk>/check-in/", visit.VisitCheckInView.as_view(), name="check-in"),
    path("jobs/<int:pk>/check-out/", visit.VisitCheckOutView.as_view(), name="check-out"),
]
