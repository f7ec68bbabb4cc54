"""The console's door and its live queue, through Django's test client: who gets in, what the
queue lists and in which order, and the actions on its rows (each the API's own service)."""

import re
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from alarms.models import Alarm
from console.queue import queue_items
from dispatch.models import OperatorAlert
from hotline import services as hotline
from tests import factories as f
from tests.alarms.conftest import device, message, send  # noqa: F401 - the fixture
from tests.conftest import admin_login, api

pytestmark = pytest.mark.django_db


def _items(html: str) -> list[str]:
    return re.findall(r'data-item="([a-z]+-\d+)"', html)


@pytest.fixture
def alarm(device, client) -> Alarm:  # noqa: F811 - the fixture imported above
    answer = send(client, device, message("fall"))
    assert answer.status_code == 202, answer.content
    return Alarm.objects.get(pk=answer.json()["alarm_id"])


@pytest.fixture
def escalated(operator, elder, django_capture_on_commit_callbacks) -> OperatorAlert:
    """A meal nobody can take (no worker in the district): escalated, with its alert."""
    with django_capture_on_commit_callbacks(execute=True):
        answer = api(operator).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": "meal"}, format="json"
        )
    return OperatorAlert.objects.get(request_id=answer.json()["id"], kind="no_worker")


def _waiting_call(district, number: str, *, emergency: bool = False):
    call = hotline.call_arrive(
        call_sid=f"CA{number}", from_number=number, to_number="+8612349", district_id=district.pk
    )
    return hotline.call_enqueue(call_id=call.pk, emergency=emergency, reason="test")


def test_the_console_is_for_signed_in_staff_with_the_second_factor(operator, family):
    anonymous = Client()
    password_only = Client()
    password_only.force_login(operator)
    family_member = Client()
    family_member.force_login(family)

    page = anonymous.get("/console/")
    fragment = anonymous.get("/console/queue/", HTTP_HX_REQUEST="true")

    assert page.status_code == 302 and page["Location"].startswith("/console/sign-in/")
    assert fragment.status_code == 401 and fragment["HX-Redirect"].startswith("/console/sign-in/")
    assert password_only.get("/console/").status_code == 302  # no second factor: sign in again
    assert family_member.get("/console/").status_code == 403
    assert admin_login(operator).get("/console/").status_code == 200


def test_signing_in_takes_the_password_and_the_code_and_refuses_who_is_not_staff(
    operator, district
):
    code = f.totp_code(f.totp_device(operator))
    worker = f.UserFactory(role="worker")
    browser = Client()

    without_code = browser.post(
        "/console/sign-in/", {"username": operator.username, "password": "pw"}
    )
    not_staff = Client().post("/console/sign-in/", {"username": worker.username, "password": "pw"})
    signed_in = browser.post(
        "/console/sign-in/", {"username": operator.username, "password": "pw", "otp": code}
    )

    assert without_code.status_code == 200 and "otp" in without_code.content.decode()
    assert not_staff.status_code == 200
    assert "call centre" in not_staff.content.decode() or "坐席" in not_staff.content.decode()
    assert signed_in.status_code == 302 and signed_in["Location"] == "/console/"
    assert browser.get("/console/").status_code == 200
    assert browser.post("/console/sign-out/").status_code == 302
    assert browser.get("/console/").status_code == 302


def test_the_queue_lists_what_waits_most_urgent_first_and_an_alarm_listed_counts_as_seen(
    operator, district, alarm, escalated
):
    routine_call = _waiting_call(district, "+8613800000001")
    emergency_call = _waiting_call(district, "+8613800000002", emergency=True)
    other = f.DistrictFactory()
    f.UserFactory(role="operator", district=other)
    _waiting_call(other, "+8613800000003")  # another district's caller

    html = admin_login(operator).get("/console/queue/").content.decode()

    assert _items(html) == [
        f"alarm-{alarm.pk}",
        f"call-{emergency_call.pk}",
        f"call-{routine_call.pk}",
        f"alert-{escalated.pk}",
    ]
    assert 'data-emergencies="2"' in html  # the alarm and the emergency caller
    assert Alarm.objects.get(pk=alarm.pk).shown_at is not None


def test_acknowledging_an_alarm_names_who_took_it_and_a_second_operator_is_told_who(
    operator, district, alarm
):
    colleague = f.UserFactory(role="operator", district=district, first_name="Li")

    mine = admin_login(operator).post(f"/console/alarms/{alarm.pk}/acknowledge/")
    theirs = admin_login(colleague).post(f"/console/alarms/{alarm.pk}/acknowledge/")

    assert mine.status_code == 200 and 'data-emergencies="0"' in mine.content.decode()
    assert theirs.status_code == 409
    assert operator.username in theirs.content.decode()
    assert Alarm.objects.get(pk=alarm.pk).acknowledged_by == operator


def test_closing_an_alarm_needs_an_outcome_and_bad_input_is_a_4xx_naming_the_field(operator, alarm):
    desk = admin_login(operator)
    desk.post(f"/console/alarms/{alarm.pk}/acknowledge/")

    refused = desk.post(f"/console/alarms/{alarm.pk}/close/", {"outcome": "made_up"})
    closed = desk.post(
        f"/console/alarms/{alarm.pk}/close/", {"outcome": "false_alarm", "note": "pressed by"}
    )

    assert refused.status_code == 400 and "outcome" in refused.content.decode()
    assert closed.status_code == 200
    assert Alarm.objects.get(pk=alarm.pk).outcome == "false_alarm"
    assert f"alarm-{alarm.pk}" not in _items(closed.content.decode())


def test_an_alert_is_acknowledged_then_resolved_with_a_code_that_fits_its_kind(operator, escalated):
    desk = admin_login(operator)

    taken = desk.post(f"/console/alerts/{escalated.pk}/acknowledge/")
    wrong = desk.post(f"/console/alerts/{escalated.pk}/resolve/", {"resolution": "visit_extended"})
    resolved = desk.post(
        f"/console/alerts/{escalated.pk}/resolve/", {"resolution": "handled_by_phone"}
    )

    assert taken.status_code == 200
    assert wrong.status_code == 422  # the service names what fits the kind
    assert resolved.status_code == 200
    escalated.refresh_from_db()
    assert escalated.resolution == "handled_by_phone" and escalated.resolved_by == operator
    assert escalated.resolved_at <= timezone.now()


def test_another_districts_rows_are_not_found(alarm, district):
    stranger = f.UserFactory(role="operator", district=f.DistrictFactory())

    answer = admin_login(stranger).post(f"/console/alarms/{alarm.pk}/acknowledge/")

    assert answer.status_code == 404
    assert Alarm.objects.get(pk=alarm.pk).acknowledged_by is None


@pytest.mark.django_db(transaction=True)  # the feed serves committed events only
def test_the_page_carries_the_feeds_cursor_so_the_script_can_catch_up(operator, alarm):
    desk = admin_login(operator)
    # Final means below the oldest transaction still running anywhere in the cluster: another
    # session's open transaction can hold that back for a moment.
    for _ in range(900):  # 90 s: a long test of another xdist worker holds it back as long
        page = desk.get("/console/").content.decode()
        cursor = re.search(r'data-events-after="(\d*)"', page)
        if cursor and cursor.group(1):
            break
        time.sleep(0.1)

    assert cursor and cursor.group(1)  # the alarm's events exist: the cursor is after them
    feed = api(operator).get(f"/api/v1/events/?after={cursor.group(1)}").json()
    assert feed["events"] == []


def test_times_on_the_console_are_the_call_centres(operator, alarm):
    shanghai = timezone.localtime(alarm.received_at, ZoneInfo("Asia/Shanghai"))

    html = admin_login(operator).get("/console/queue/").content.decode()

    assert f"{shanghai:%H:%M:%S}" in html


def test_wrong_passwords_lock_the_console_sign_in_as_they_lock_the_api(operator, settings):
    browser = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        browser.post("/console/sign-in/", {"username": operator.username, "password": "wrong"})

    locked = browser.post(
        "/console/sign-in/",
        {
            "username": operator.username,
            "password": "pw",
            "otp": f.totp_code(f.totp_device(operator)),
        },
    )

    assert locked.status_code in (403, 429)
    assert browser.get("/console/").status_code == 302  # not signed in


def test_the_top_bar_links_todays_figures_only_for_who_may_see_them(operator, district):
    supervisor = f.UserFactory(role="supervisor", district=district)

    operators = admin_login(operator).get("/console/").content.decode()
    supervisors = admin_login(supervisor).get("/console/").content.decode()

    assert 'href="/console/supervisor/"' not in operators
    assert 'href="/console/supervisor/"' in supervisors


def test_a_long_queue_keeps_the_most_urgent_and_marks_seen_only_the_alarms_it_shows(
    operator, district, alarm, escalated
):
    # An emergency caller and a routine one wait too; the list has room for two rows.
    emergency_call = _waiting_call(district, "+8613800000002", emergency=True)
    _waiting_call(district, "+8613800000001")

    queue = queue_items(operator, limit=2)
    hidden_alarm = queue_items(operator, limit=1)  # room for the alarm only: nothing else seen

    assert [item.key for item in queue.items] == [f"alarm-{alarm.pk}", f"call-{emergency_call.pk}"]
    assert queue.more == 2  # the routine caller and the escalated request's alert
    assert hidden_alarm.more == 3


def test_an_alarm_left_off_the_list_is_not_marked_seen(operator, district, device, client):  # noqa: F811
    older = [_waiting_call(district, f"+861380000001{n}", emergency=True) for n in range(2)]
    answer = send(client, device, message("sos"))
    alarm_id = answer.json()["alarm_id"]
    Alarm.objects.filter(pk=alarm_id).update(received_at=timezone.now() + timedelta(minutes=1))

    shown = queue_items(operator, limit=2)

    assert [item.key for item in shown.items] == [f"call-{call.pk}" for call in older]
    assert Alarm.objects.get(pk=alarm_id).shown_at is None  # announced again until seen


def test_an_emergency_alert_is_kept_ahead_of_many_older_routine_ones(
    operator, elder, district, escalated, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        emergency = api(operator).post(
            "/api/v1/requests/",
            {"elder": elder.pk, "service_type": "meal", "priority": "emergency"},
            format="json",
        )
    urgent_alert = OperatorAlert.objects.get(request_id=emergency.json()["id"], kind="no_worker")

    queue = queue_items(operator, limit=1)

    assert [item.key for item in queue.items] == [f"alert-{urgent_alert.pk}"]


def test_an_escalated_request_stays_in_the_queue_after_its_alert_is_resolved_while_nobody_goes(
    operator, escalated
):
    desk = admin_login(operator)
    desk.post(f"/console/alerts/{escalated.pk}/resolve/", {"resolution": "handled_by_phone"})

    html = desk.get("/console/queue/").content.decode()

    assert _items(html) == [f"request-{escalated.request_id}"]


def test_console_answers_are_never_kept_by_the_browser(operator):
    answer = admin_login(operator).get("/console/queue/")

    assert "no-store" in answer["Cache-Control"]


def test_a_stopped_platform_timer_shows_its_banner_from_the_first_render(operator, settings):
    from backend.core.models import Heartbeat

    name = settings.ANXIN_WATCHED_TIMERS[0]
    desk = admin_login(operator)
    quiet = desk.get("/console/").content.decode()
    Heartbeat.objects.create(name=name, watched_since=timezone.now(), stale_since=timezone.now())

    stale = desk.get("/console/").content.decode()

    assert '<div id="platform" class="flash" role="alert" hidden>' in quiet
    assert '<div id="platform" class="flash" role="alert">' in stale
