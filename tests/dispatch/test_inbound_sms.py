"""Every inbound SMS is kept; one nothing takes from a number we know goes to the operators of
the districts concerned (an `sms.unhandled` event), never dropped; nothing is answered where
replies are off."""

import pytest

from backend.core.models import Event
from backend.telephony.models import InboundSms
from tests import factories as f
from tests.dispatch.phone import reply_sms

pytestmark = pytest.mark.django_db


@pytest.fixture
def replies(settings):
    def set_replies(on: bool) -> None:
        settings.ANXIN = {**settings.ANXIN, "SMS_REPLIES": on}

    return set_replies


@pytest.mark.parametrize("on", [True, False])
def test_an_elders_sms_nothing_takes_goes_to_the_districts_operators(
    replies, elder, django_capture_on_commit_callbacks, on
):
    replies(on)
    elsewhere = f.ElderFactory()  # a neighbour in another district shares the landline
    elsewhere.landline = elder.phone
    elsewhere.save()

    answered = reply_sms(django_capture_on_commit_callbacks, str(elder.phone), "救命")

    assert answered == ""  # no automatic reply
    kept = InboundSms.objects.get()
    assert (kept.sender, kept.body, kept.handled_by) == (str(elder.phone), "救命", "operators")
    told = {e.district_id: e for e in Event.objects.filter(kind="sms.unhandled")}
    assert set(told) == {elder.district_id, elsewhere.district_id}
    mine = told[elder.district_id]
    assert (mine.subject_type, mine.subject_id) == ("sms", kept.pk)
    assert mine.data["body"] == "救命" and mine.data["from"] == str(elder.phone)
    assert [e["id"] for e in mine.data["elders"]] == [elder.pk]


def test_a_workers_sms_that_is_no_code_goes_to_the_operators(
    replies, make_worker, district, django_capture_on_commit_callbacks
):
    replies(True)
    worker = make_worker()

    answered = reply_sms(django_capture_on_commit_callbacks, str(worker.phone), "车坏了，会迟到")

    assert answered == ""
    [told] = Event.objects.filter(kind="sms.unhandled")
    assert told.district_id == district.pk
    assert told.data["workers"] == [{"id": worker.pk, "name": worker.full_name}]


def test_an_sms_from_an_unknown_number_is_kept_and_not_answered(
    replies, django_capture_on_commit_callbacks
):
    replies(True)

    answered = reply_sms(django_capture_on_commit_callbacks, "+8613911112222", "hello")

    assert answered == ""
    assert InboundSms.objects.get().handled_by == ""
    assert not Event.objects.filter(kind="sms.unhandled").exists()
