from django.urls import path

from .views import auth, calls, coverage, district, queue, settlement, shell, supervisor
from .views.map import map_data, map_page
from .views.requests import (
    request_close,
    request_dispatch,
    request_fail,
    request_override,
    request_panel,
    request_retry,
)

app_name = "console"

urlpatterns = [
    path("", shell.home, name="home"),
    path("sign-in/", auth.ConsoleSignInView.as_view(), name="sign-in"),
    path("sign-out/", auth.sign_out, name="sign-out"),
    # The request panel and the map (console/views/requests.py, map.py).
    path("requests/<int:pk>/", request_panel, name="request-panel"),
    path("requests/<int:pk>/dispatch/", request_dispatch, name="request-dispatch"),
    path("requests/<int:pk>/assign/", request_override, name="request-override"),
    path("requests/<int:pk>/retry/", request_retry, name="request-retry"),
    path("requests/<int:pk>/close/", request_close, name="request-close"),
    path("requests/<int:pk>/fail/", request_fail, name="request-fail"),
    path("map/", map_page, name="map"),
    path("map/data/", map_data, name="map-data"),
    path("queue/", queue.queue, name="queue"),
    path("alarms/<int:pk>/acknowledge/", queue.alarm_acknowledge, name="alarm-acknowledge"),
    path("alarms/<int:pk>/dispatch/", queue.alarm_dispatch, name="alarm-dispatch"),
    path("alarms/<int:pk>/close/", queue.alarm_close, name="alarm-close"),
    path("alerts/<int:pk>/acknowledge/", queue.alert_acknowledge, name="alert-acknowledge"),
    path("alerts/<int:pk>/resolve/", queue.alert_resolve, name="alert-resolve"),
    path("call-backs/<int:pk>/take/", queue.call_back_take, name="call-back-take"),
    path("call-backs/<int:pk>/close/", queue.call_back_close, name="call-back-close"),
    # The call panel (console/views/calls.py).
    path("call/", calls.call_panel, name="call-panel"),
    path("calls/<int:pk>/take/", calls.call_take, name="call-take"),
    path("calls/<int:pk>/status/", calls.call_status, name="call-status"),
    path("call/elders/<int:pk>/", calls.elder_section, name="call-elder"),
    path("call/elders/<int:pk>/requests/", calls.elder_requests, name="call-elder-requests"),
    path("call/elders/<int:pk>/health/", calls.elder_health, name="call-elder-health"),
    path("call/elders/<int:pk>/id-check/", calls.elder_id_check, name="call-elder-id-check"),
    path(
        "call/elders/<int:pk>/duplicates/", calls.request_duplicates, name="call-request-duplicates"
    ),
    path("call/elders/<int:pk>/request/", calls.request_create, name="call-request-create"),
    # The supervisor's view (console/views/supervisor.py).
    path("supervisor/", supervisor.supervisor, name="supervisor"),
    path("supervisor/figures/", supervisor.supervisor_figures, name="supervisor-figures"),
    # The district's oversight page (console/views/district.py).
    path("district/", district.district, name="district"),
    # The district's coverage of the 15-minute circle (console/views/coverage.py).
    path("district/coverage/", coverage.coverage, name="district-coverage"),
    path(
        "district/coverage/summary/",
        coverage.coverage_summary,
        name="district-coverage-summary",
    ),
    # Settlement: statements and entitlements (console/views/settlement.py).
    path("district/settlement/", settlement.settlement_page, name="settlement"),
    path(
        "district/settlement/providers/<int:pk>/issue/",
        settlement.statement_issue,
        name="statement-issue",
    ),
    path("district/entitlements/", settlement.entitlements_search, name="entitlements"),
    path(
        "district/elders/<int:pk>/entitlements/",
        settlement.elder_entitlements,
        name="elder-entitlements",
    ),
]
