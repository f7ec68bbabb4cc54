"""The family hears by SMS: every contact who opted in, in their own language, at check-in,
check-out and any emergency; quiet hours hold routine messages, never an emergency's."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.telephony.models import Notification
from tests import factories as f
from tests.dispatch.conftest import create
from tests.dispatch.test_core_loop import _assigned, check_in


@pytest.fixture
def contacts(elder):
    english = f.UserFactory(role="family", language="en")
    return {
        "english": f.ContactFactory(elder=elder, priority=1, user=english),
        "chinese": f.ContactFactory(elder=elder, priority=2),
        "no_sms": f.ContactFactory(elder=elder, priority=3, wants_sms=False),
    }


@pytest.fixture
def quiet_now(settings):
    """Quiet hours from an hour ago to an hour from now, in the display time zone."""
    local = timezone.localtime(timezone.now(), timezone.get_fixed_timezone(8 * 60))
    start, end = local - timedelta(hours=1), local + timedelta(hours=1)
    settings.DISPLAY_TIME_ZONE = "Asia/Shanghai"
    settings.ANXIN = {**settings.ANXIN, "QUIET_HOURS": f"{start:%H:%M}-{end:%H:%M}"}


def test_an_emergency_texts_every_contact_who_opted_in_at_once_in_their_language(
    operator, elder, contacts, outbox, django_capture_on_commit_callbacks
):
    create(operator, elder, django_capture_on_commit_callbacks, service="emergency")

    created = [m for m in outbox if m["template"] == "sms.emergency_created"]
    assert [(m["to"], m["language"]) for m in created] == [
        (str(contacts["english"].phone), "en"),
        (str(contacts["chinese"].phone), "zh-hans"),
    ]
    assert created[0]["body"].startswith(f"[Anxin] {elder.full_name} has asked for emergency")


def test_an_emergency_ignores_quiet_hours(
    operator, elder, contacts, outbox, quiet_now, django_capture_on_commit_callbacks
):
    create(operator, elder, django_capture_on_commit_callbacks, service="emergency")

    assert {m["template"] for m in outbox} >= {"sms.emergency_created"}
    assert not Notification.objects.filter(state="pending")


def test_a_routine_check_in_in_quiet_hours_waits_for_the_morning(
    operator, elder, contacts, make_worker, outbox, quiet_now, django_capture_on_commit_callbacks
):
    worker, sr_id = _assigned(operator, elder, make_worker, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        arrived = check_in(worker, sr_id, f.offset(f.HOME, north_m=30).coords)

    assert arrived.status_code == 201, arrived.json()
    waiting = Notification.objects.filter(template="sms.visit_check_in")
    assert sorted(n.recipient for n in waiting) == sorted(
        [str(contacts["english"].phone), str(contacts["chinese"].phone)]
    )
    assert {n.state for n in waiting} == {"pending"}
    assert min(n.send_after for n in waiting) > timezone.now() + timedelta(minutes=50)
    assert [m for m in outbox if m["template"] == "sms.visit_check_in"] == []
