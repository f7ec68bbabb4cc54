"""Every inbound SMS is kept; one nothing takes is a lasting call-back task for the operators of
the districts concerned (of the hotline number texted when the sender is nobody we know), taken
and closed by a named operator, never dropped; nothing is answered where replies are off."""

import pytest
from django.test import Client

from backend.core.models import Event
from backend.telephony.models import InboundSms
from backend.telephony.tasks import inbound_sms_take
from hotline.models import CallBack
from tests import factories as f
from tests.conftest import api
from tests.dispatch.phone import reply_sms
from tests.hotline.script import HOTLINE
from tests.hotline.twiml import assert_twiml, signed_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def replies(settings):
    def set_replies(on: bool) -> None:
        settings.ANXIN = {**settings.ANXIN, "SMS_REPLIES": on}

    return set_replies


def texted(capture, sender: str, body: str, to: str = HOTLINE) -> str:
    with capture(execute=True):
        response = signed_post(
            Client(), "/hooks/twilio/sms/", {"From": sender, "To": to, "Body": body}
        )
    assert response.status_code == 200, response.content
    return " ".join(assert_twiml(response.content).itertext()).strip()


@pytest.mark.parametrize("on", [True, False])
def test_an_elders_sms_nothing_takes_is_a_call_back_for_the_districts_operators(
    replies, elder, operator, django_capture_on_commit_callbacks, on
):
    replies(on)
    elsewhere = f.ElderFactory()  # a neighbour in another district shares the landline
    elsewhere.landline = elder.phone
    elsewhere.save()

    answered = reply_sms(django_capture_on_commit_callbacks, str(elder.phone), "救命")

    assert answered == ""  # no automatic reply
    kept = InboundSms.objects.get()
    assert (kept.sender, kept.body, kept.handled_by) == (str(elder.phone), "救命", "operators")
    backs = {b.district_id: b for b in CallBack.objects.all()}
    assert set(backs) == {elder.district_id, elsewhere.district_id}
    mine = backs[elder.district_id]
    assert (mine.call, mine.sms, mine.from_number, mine.state) == (
        None,
        kept,
        str(elder.phone),
        "open",
    )
    told = Event.objects.get(kind="callback.open", district_id=elder.district_id)
    assert (told.subject_type, told.subject_id) == ("callback", mine.pk)
    assert told.data["body"] == "救命" and told.data["sms"] == kept.pk
    assert [e["id"] for e in told.data["elders"]] == [elder.pk]
    [listed] = api(operator).get("/api/v1/call-backs/").json()["results"]
    assert (listed["id"], listed["call"], listed["sms"]) == (mine.pk, None, kept.pk)
    assert (listed["sms_body"], listed["from_number"]) == ("救命", str(elder.phone))
    assert [e["id"] for e in listed["elders"]] == [elder.pk]


def test_an_sms_call_back_is_taken_and_closed_by_a_named_operator(
    replies, elder, operator, django_capture_on_commit_callbacks
):
    replies(False)
    reply_sms(django_capture_on_commit_callbacks, str(elder.phone), "明天不用送饭")
    back = CallBack.objects.get()

    taken = api(operator).post(f"/api/v1/call-backs/{back.pk}/take/")
    closed = api(operator).post(
        f"/api/v1/call-backs/{back.pk}/close/", {"note": "rang back"}, format="json"
    )

    assert taken.status_code == 200 and closed.status_code == 200, closed.content
    back.refresh_from_db()
    assert (back.state, back.taken_by, back.closed_by) == ("closed", operator, operator)


def test_a_workers_sms_that_is_no_code_goes_to_the_operators(
    replies, make_worker, district, django_capture_on_commit_callbacks
):
    replies(True)
    worker = make_worker()

    answered = reply_sms(django_capture_on_commit_callbacks, str(worker.phone), "车坏了，会迟到")

    assert answered == ""
    [back] = CallBack.objects.all()
    assert back.district_id == district.pk
    told = Event.objects.get(kind="callback.open")
    assert told.data["workers"] == [{"id": worker.pk, "name": worker.full_name}]


def test_an_sms_from_an_unknown_number_goes_to_the_district_of_the_number_texted(
    replies, hotline, district, operator, django_capture_on_commit_callbacks
):
    replies(True)

    answered = texted(django_capture_on_commit_callbacks, "+8613911112222", "救命")

    assert answered == ""
    assert InboundSms.objects.get().handled_by == "operators"
    back = CallBack.objects.get()
    assert (back.district_id, back.from_number) == (district.pk, "+8613911112222")
    assert [b["id"] for b in api(operator).get("/api/v1/call-backs/").json()["results"]] == [
        back.pk
    ]


def test_an_sms_taken_late_from_an_unknown_number_reaches_the_district_texted_too(
    hotline, district, django_capture_on_commit_callbacks
):
    # the webhook could not keep it in time: telephony's task takes it once the database answers
    with django_capture_on_commit_callbacks(execute=True):
        inbound_sms_take.apply(
            kwargs={
                "from_number": "+8613911113333",
                "to_number": HOTLINE,
                "body": "救命",
                "message_sid": "SMlate",
            }
        ).get()

    assert InboundSms.objects.get().to_number == HOTLINE
    back = CallBack.objects.get()
    assert (back.district_id, back.from_number) == (district.pk, "+8613911113333")


def test_an_sms_from_an_unknown_number_to_no_hotline_is_kept_and_not_answered(
    replies, django_capture_on_commit_callbacks
):
    replies(True)

    answered = reply_sms(django_capture_on_commit_callbacks, "+8613911112222", "hello")

    assert answered == ""
    assert InboundSms.objects.get().handled_by == ""
    assert not CallBack.objects.exists()
