"""Nobody is left without a call back: a caller who waited for a person and hung up, or left a
silent message, is a call-back task; a caller whose hang-up Twilio never reported is found by
the sweep (no more wait-URL requests) and called back too."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.models import Event
from hotline.models import Call, CallBack
from hotline.tasks import calls_sweep
from tests import factories as f
from tests.hotline.script import ScriptedCall, client_sender

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone(client):
    def call(caller: str) -> ScriptedCall:
        return ScriptedCall(client_sender(client), caller=caller)

    return call


def test_a_known_caller_who_hangs_up_in_the_queue_is_called_back(hotline, district, phone):
    elder = f.ElderFactory(district=district)
    call = phone(str(elder.phone))
    call.wait(call.press(call.dial(), "0"), seconds=30)

    call.hang_up()

    back = CallBack.objects.get()
    assert (back.call.call_sid, back.call.outcome, back.state) == (call.sid, "abandoned", "open")
    assert list(back.call.elders.all()) == [elder]
    opened = Event.objects.get(kind="callback.open")
    assert (opened.data["reason"], opened.data["elders"]) == ("hung_up_waiting", [elder.pk])


def test_an_unknown_caller_who_hangs_up_in_the_queue_is_called_back(hotline, phone):
    call = phone("+8613912345678")
    call.dial()

    call.hang_up()

    assert CallBack.objects.get().call.from_number == "+8613912345678"


def test_a_silent_message_is_called_back(hotline, district, phone, settings):
    call = phone("+8613912345678")
    queued = call.dial()
    call.wait(queued, seconds=settings.ANXIN["HOTLINE_QUEUE_WAIT_S"])
    prompt = call.leave_queue(queued)

    call.record(prompt, seconds=0)
    call.hang_up()

    back = CallBack.objects.get()
    assert (back.call.recording_sid, back.call.outcome) == ("", "abandoned")


def test_a_message_after_the_hang_up_joins_the_one_call_back(hotline, phone, settings):
    call = phone("+8613912345678")
    queued = call.dial()
    call.wait(queued, seconds=settings.ANXIN["HOTLINE_QUEUE_WAIT_S"])
    prompt = call.leave_queue(queued)

    call.hang_up()  # Twilio's status callback first, the recording after
    call.record(prompt, seconds=9)

    back = CallBack.objects.get()
    assert back.call.recording_sid.startswith("RE")
    assert (back.call.outcome, back.call.state) == ("voicemail", "ended")
    message = Event.objects.filter(subject_type="call", subject_id=back.call_id).last()
    assert (message.data["event"], message.data["duration_s"]) == ("message", 9)


def test_menu_callers_and_answered_callers_are_not_called_back(hotline, district, phone):
    elder = f.ElderFactory(district=district)
    call = phone(str(elder.phone))
    call.dial()

    call.hang_up()  # hung up during the menu: they asked for nobody

    assert not CallBack.objects.exists()


def test_a_caller_twilio_no_longer_asks_for_is_ended_and_called_back(hotline, phone):
    gone, holding = phone("+8613912345678"), phone("+8613912345679")
    gone.wait(gone.dial(), seconds=10)
    holding.dial()
    long_ago = timezone.now() - timedelta(minutes=5)
    Call.objects.update(queued_at=long_ago, last_wait_at=long_ago)
    holding.wait(holding.answers[0], seconds=300)  # still holding: Twilio asked just now

    done = calls_sweep()

    assert done["gone_ended"] == 1
    ended = Call.objects.get(call_sid=gone.sid)
    assert (ended.state, ended.outcome) == ("ended", "abandoned")
    assert Call.objects.get(call_sid=holding.sid).state == "queued"
    assert CallBack.objects.get().call == ended
    assert calls_sweep()["gone_ended"] == 0
