from datetime import timedelta

import pytest
from django.utils import timezone

from backend.telephony.models import Notification
from backend.telephony.tasks import notifications_purge

pytestmark = pytest.mark.django_db


def row(event, days_old):
    made = Notification.objects.create(
        event=event,
        recipient="+8613800138000",
        channel="sms",
        template="sms.visit_check_in",
        params={"elder": "王", "service": "meal", "time": "10:05", "reference": "R"},
        language="zh-hans",
        send_after=timezone.now(),
    )
    Notification.objects.filter(pk=made.pk).update(
        created_at=timezone.now() - timedelta(days=days_old)
    )
    return made


def test_rows_past_the_keep_period_are_purged_and_younger_ones_kept(settings):
    settings.ANXIN = {**settings.ANXIN, "NOTIFICATION_KEEP_DAYS": 30}
    kept = row("visit.check_in:1", 29)
    row("visit.check_in:2", 31)

    assert notifications_purge() == {"notifications": 1}
    assert list(Notification.objects.values_list("pk", flat=True)) == [kept.pk]
