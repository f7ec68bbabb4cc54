"""What Twilio gets when an outbound call is answered and a key is pressed, and the answer to
an inbound SMS."""

import pytest
from django.utils import timezone

from backend.telephony import flows
from backend.telephony.flows import (
    answer_twiml,
    gather_twiml,
    register_sms_handler,
    register_sms_unhandled,
    sms_reply,
)
from backend.telephony.models import InboundSms, Notification
from tests.hotline.twiml import assert_twiml

pytestmark = pytest.mark.django_db


def placed(flow="", language="zh-hans", provider_sid="CA1"):
    return Notification.objects.create(
        event="callout:1:1",
        recipient="+8613800138000",
        channel="call",
        template="call.callout_prompt",
        params={"elder": "王淑珍"},
        language=language,
        urgency="emergency",
        flow=flow,
        send_after=timezone.now(),
        state="sent",
        provider_sid=provider_sid,
    )


def test_an_answered_flow_call_asks_its_question_inside_a_one_key_gather(flow):
    call = placed("test-flow")

    root = assert_twiml(answer_twiml(call.pk, {"CallSid": "CA1"}))

    gathers = root.findall("Gather")
    assert len(gathers) == 2  # asked twice before hanging up
    assert gathers[0].get("numDigits") == "1"
    assert gathers[0].get("action") == f"https://anxin.test/hooks/twilio/gather/?n={call.pk}"
    said = gathers[0].find("Say")
    assert said.get("language") == "cmn-CN" and "王淑珍" in said.text
    assert [child.tag for child in root][-1] == "Hangup"


def test_an_answered_call_without_a_flow_is_told_and_hung_up():
    call = placed(language="en")

    root = assert_twiml(answer_twiml(call.pk, {}))

    assert [child.tag for child in root] == ["Say", "Pause", "Say", "Hangup"]
    assert root.find("Say").get("language") == "en-US"
    assert "press 1" in root.find("Say").text


def test_the_answer_records_the_call_sid_the_placing_worker_had_not_saved_yet():
    call = placed(provider_sid=None)

    answer_twiml(call.pk, {"CallSid": "CAearly"})

    call.refresh_from_db()
    assert call.provider_sid == "CAearly"


def test_a_key_the_flow_takes_is_recorded_and_answered(flow):
    call = placed("test-flow")

    root = assert_twiml(gather_twiml(call.pk, "1", {"Digits": "1"}))

    call.refresh_from_db()
    assert call.digits == "1"
    assert flow["digits"] == [(call.pk, "1")]
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root.find("Say").text == "Thank you."


def test_a_key_the_flow_does_not_take_asks_again(flow):
    call = placed("test-flow")

    root = assert_twiml(gather_twiml(call.pk, "7", {"Digits": "7"}))

    call.refresh_from_db()
    assert call.digits == ""
    assert [child.tag for child in root] == ["Gather", "Hangup"]


def test_an_unknown_call_is_hung_up():
    assert [c.tag for c in assert_twiml(answer_twiml(999_999, {}))] == ["Hangup"]
    assert [c.tag for c in assert_twiml(gather_twiml(999_999, "1", {}))] == ["Hangup"]


@pytest.fixture
def handlers():
    """Only the handlers and hooks a test registers (dispatch's are set aside meanwhile)."""
    saved = list(flows._sms_handlers), list(flows._sms_unhandled)
    flows._sms_handlers[:], flows._sms_unhandled[:] = [], []
    yield
    flows._sms_handlers[:], flows._sms_unhandled[:] = saved


def test_inbound_sms_are_kept_and_not_answered_by_default(settings, handlers):
    register_sms_handler(lambda number, body: "taken")

    reply = sms_reply("+8613800138000", "123456", message_sid="SM1")

    assert settings.ANXIN["SMS_REPLIES"] is False
    assert reply is None  # no automatic reply, ever: it could loop with an auto-responder
    kept = InboundSms.objects.get()
    assert (kept.sender, kept.body, kept.message_sid) == ("+8613800138000", "123456", "SM1")
    assert (kept.handled_by, kept.reply) == ("", "")


def taken(number, body):
    return f"got {body}"


def test_with_replies_on_each_handler_is_tried_in_turn_and_the_reply_recorded(settings, handlers):
    settings.ANXIN = {**settings.ANXIN, "SMS_REPLIES": True}
    register_sms_handler(lambda number, body: None)
    register_sms_handler(taken)

    assert sms_reply("+8613800138000", "123456", message_sid="SM1") == "got 123456"
    kept = InboundSms.objects.get()
    assert kept.handled_by == "tests.telephony.test_flows.taken"
    assert kept.reply == "got 123456"


def test_a_repeated_message_sid_is_ignored(settings, handlers):
    settings.ANXIN = {**settings.ANXIN, "SMS_REPLIES": True}
    heard = []
    register_sms_handler(lambda number, body: heard.append(body) or "ok")

    first = sms_reply("+8613800138000", "1", message_sid="SM1")
    replayed = sms_reply("+8613800138000", "1", message_sid="SM1")  # Twilio's retry, a replay

    assert (first, replayed) == ("ok", None)
    assert heard == ["1"] and InboundSms.objects.count() == 1


@pytest.mark.parametrize("replies", [True, False])
def test_an_sms_nothing_takes_goes_to_a_person_and_is_not_answered(settings, handlers, replies):
    settings.ANXIN = {**settings.ANXIN, "SMS_REPLIES": replies}
    told = []
    register_sms_handler(lambda number, body: None)
    register_sms_unhandled(lambda message: False)  # not a number this hook knows
    register_sms_unhandled(lambda message: told.append(message.body) or True)

    reply = sms_reply("+8613800138000", "救命", message_sid="SM1")

    assert reply is None and told == ["救命"]
    assert InboundSms.objects.get().handled_by == "operators"


def test_a_failing_handler_does_not_lose_the_sms(settings, handlers):
    settings.ANXIN = {**settings.ANXIN, "SMS_REPLIES": True}
    told = []

    def broken(number, body):
        InboundSms.objects.create(sender="x", body="inside the handler")  # rolled back
        raise RuntimeError("a bug")

    register_sms_handler(broken)
    register_sms_unhandled(lambda message: told.append(message.pk) or True)

    assert sms_reply("+8613800138000", "救命", message_sid="SM1") is None

    kept = InboundSms.objects.get()
    assert told == [kept.pk] and kept.handled_by == "operators"
