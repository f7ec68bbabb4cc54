"""Quiet hours: a send-after time in the database, for routine messages only."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from backend.telephony import quiet_hours
from backend.telephony.models import Notification
from backend.telephony.services import notifications_sweep, notify

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day, hour, minute=0):
    return datetime(2025, 3, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    "now, after",
    [
        (at(10, 23, 30), at(11, 7)),  # late evening: the next morning
        (at(11, 6, 59), at(11, 7)),  # early morning: this morning
        (at(11, 7), at(11, 7)),  # the window has ended
        (at(11, 12), at(11, 12)),  # daytime: at once
        (at(10, 22), at(11, 7)),
    ],
)
def test_a_window_past_midnight_holds_messages_until_it_ends(now, after):
    assert quiet_hours.send_after(now, "22:00-07:00", SHANGHAI) == after


def test_the_window_is_read_in_the_display_time_zone(settings):
    settings.DISPLAY_TIME_ZONE = "Asia/Shanghai"
    utc_afternoon = datetime(2025, 3, 10, 15, 0, tzinfo=ZoneInfo("UTC"))  # 23:00 in Shanghai

    assert quiet_hours.send_after(utc_afternoon, "22:00-07:00") == at(11, 7)


def test_a_window_within_a_day_and_no_window():
    assert quiet_hours.send_after(at(11, 13), "12:00-14:00", SHANGHAI) == at(11, 14)
    assert quiet_hours.send_after(at(11, 13), "", SHANGHAI) == at(11, 13)


@pytest.mark.parametrize("window", ["10pm-7am", "22:00", "25:00-07:00", "07:00-07:00"])
def test_a_malformed_window_is_refused(window):
    with pytest.raises(ValueError):
        quiet_hours.parse(window)


def quiet_now(settings):
    """Quiet hours from an hour ago to an hour from now, in the display time zone."""
    local = timezone.localtime(timezone.now(), SHANGHAI)
    start, end = local - timedelta(hours=1), local + timedelta(hours=1)
    settings.ANXIN = {**settings.ANXIN, "QUIET_HOURS": f"{start:%H:%M}-{end:%H:%M}"}
    settings.DISPLAY_TIME_ZONE = "Asia/Shanghai"


def text(capture, urgency="routine", **fields):
    with capture(execute=True):
        return notify(
            event=f"test:{urgency}",
            to="+8613800138000",
            channel="sms",
            template="sms.emergency_created",
            params={"elder": "王", "reference": "R"},
            language="zh-hans",
            urgency=urgency,
            **fields,
        )


@pytest.mark.django_db
def test_a_routine_sms_in_quiet_hours_waits_in_the_database_then_the_sweep_sends_it(
    settings, outbox, django_capture_on_commit_callbacks
):
    quiet_now(settings)

    sms = text(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        early = notifications_sweep()
    waited = list(outbox)
    Notification.objects.filter(pk=sms.pk).update(send_after=timezone.now())  # the hour passed
    with django_capture_on_commit_callbacks(execute=True):
        due = notifications_sweep()

    assert sms.state == "pending" and sms.send_after > timezone.now() + timedelta(minutes=50)
    assert (early["enqueued"], waited) == (0, [])
    assert due["enqueued"] == 1
    assert [m["template"] for m in outbox] == ["sms.emergency_created"]
    assert Notification.objects.get(pk=sms.pk).state == "sent"


@pytest.mark.django_db
def test_an_emergency_never_waits_for_quiet_hours(
    settings, outbox, django_capture_on_commit_callbacks
):
    quiet_now(settings)

    sms = text(django_capture_on_commit_callbacks, urgency="emergency")

    assert sms.send_after <= timezone.now()
    assert [m["template"] for m in outbox] == ["sms.emergency_created"]


@pytest.mark.django_db
def test_a_message_about_now_may_skip_quiet_hours(
    settings, outbox, django_capture_on_commit_callbacks
):
    quiet_now(settings)

    text(django_capture_on_commit_callbacks, quiet_hours=False)

    assert len(outbox) == 1
