"""Putting a waiting caller through to the operator who took the call: the take commits before
Twilio moves the caller, only the operator's key press counts as answered (call screening),
and every way a take fails puts the caller back in the operators' list."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from dispatch.models import OperatorAlert, ServiceRequest
from hotline.models import Call
from hotline.tasks import calls_sweep
from tests import factories as f
from tests.conftest import api
from tests.hotline.script import ScriptedCall, client_sender

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(operator):
    operator.phone = "+8613700000001"
    operator.save()
    return operator


def emergency_call(client, district) -> ScriptedCall:
    elder = f.ElderFactory(district=district)
    call = ScriptedCall(client_sender(client), caller=str(elder.phone))
    call.press(call.dial(), "9")
    return call


def caller_waiting(call: ScriptedCall) -> OperatorAlert:
    sr = ServiceRequest.objects.get(pk=Call.objects.get(call_sid=call.sid).request_id)
    return OperatorAlert.objects.filter(request=sr, kind="caller_waiting").latest("episode")


def take(operator, call: ScriptedCall, twilio):
    taken = api(operator).post(f"/api/v1/calls/{Call.objects.get(call_sid=call.sid).pk}/take/")
    assert taken.status_code == 200, taken.content
    return call.redirected(twilio.redirects()[-1][1])


def test_the_operators_voicemail_does_not_take_the_call(
    client, catalogue, hotline, district, desk, twilio
):
    call = emergency_call(client, district)
    dial = take(desk, call, twilio)

    whisper = call.operator_answers(dial)  # a voicemail box picks up, and presses nothing
    assert whisper.find("Gather").get("numDigits") == "1"
    assert whisper[-1].tag == "Hangup"
    back = call.dial_ends(dial, "completed")

    assert back.find("Enqueue") is not None
    row = Call.objects.get(call_sid=call.sid)
    assert (row.state, row.taken_by, row.answered_at) == ("queued", None, None)
    assert caller_waiting(call).resolved_at is None


def test_pressing_one_puts_the_caller_through_and_a_conversation_ends_with_goodbye(
    client, catalogue, hotline, district, desk, twilio
):
    call = emergency_call(client, district)
    dial = take(desk, call, twilio)

    accepted = call.operator_presses(call.operator_answers(dial), "1")
    after = call.dial_ends(dial, "completed")

    assert accepted.find("Hangup") is None  # the whisper ends: Twilio bridges the two
    assert after.find("Hangup") is not None
    row = Call.objects.get(call_sid=call.sid)
    assert (row.state, row.taken_by) == ("connected", desk)
    assert caller_waiting(call).resolution == "caller_answered"


def test_another_key_does_not_take_the_call(client, catalogue, hotline, district, desk, twilio):
    call = emergency_call(client, district)
    dial = take(desk, call, twilio)

    refused = call.operator_presses(call.operator_answers(dial), "2")
    call.dial_ends(dial, "completed")

    assert refused.find("Hangup") is not None
    assert Call.objects.get(call_sid=call.sid).state == "queued"


def test_a_connect_for_a_take_that_no_longer_stands_puts_the_caller_back_in_the_list(
    client, catalogue, hotline, district, desk, twilio
):
    call = emergency_call(client, district)
    dial = take(desk, call, twilio)
    call.operator_presses(call.operator_answers(dial), "1")
    assert caller_waiting(call).resolved_at is not None
    other = f.UserFactory(role="operator", district=district, phone="+8613700000002")

    answer = call.post(f"/hooks/twilio/queue/?step=connect&op={other.pk}&d={district.pk}")

    assert answer.find("Enqueue") is not None
    assert "e=1" in answer.find("Enqueue").get("waitUrl")
    row = Call.objects.get(call_sid=call.sid)
    assert (row.state, row.taken_by) == ("queued", None)
    again = caller_waiting(call)
    assert (again.episode, again.resolved_at) == (2, None)  # the operators are alerted again


def test_a_take_whose_dial_never_reports_goes_back_to_the_queue(
    client, catalogue, hotline, district, desk, twilio
):
    call = emergency_call(client, district)
    take(desk, call, twilio)
    row = Call.objects.get(call_sid=call.sid)

    assert calls_sweep()["connecting_requeued"] == 0  # not yet: the phone may still ring
    Call.objects.filter(pk=row.pk).update(taken_at=timezone.now() - timedelta(minutes=2))
    assert calls_sweep()["connecting_requeued"] == 1

    row.refresh_from_db()
    assert (row.state, row.taken_by) == ("queued", None)
    listed = api(desk).get("/api/v1/calls/").json()["results"]
    assert [c["id"] for c in listed] == [row.pk]


@pytest.mark.django_db(transaction=True)
def test_twilio_asking_for_the_connect_at_once_finds_the_take_committed(
    catalogue, hotline, district, desk, twilio
):
    """Twilio may request the redirect's URL before its REST answer reaches us: another
    process (here a thread with its own connection) sees only what is committed."""
    caller = ScriptedCall(client_sender(Client()), caller="+8613912345678")
    caller.dial()
    answers = []
    redirect = twilio.registered()[0]

    def connect_now(request):
        from urllib.parse import parse_qs

        url = parse_qs(request.body)["Url"][0]

        def ask():
            try:
                answers.append(caller.redirected(url))
            finally:
                connection.close()

        worker = threading.Thread(target=ask)
        worker.start()
        worker.join(timeout=10)
        return redirect.callback(request)

    twilio.remove(redirect)
    twilio.add_callback(redirect.method, redirect.url, callback=connect_now)
    taken = api(desk).post(f"/api/v1/calls/{Call.objects.get().pk}/take/")

    assert taken.status_code == 200, taken.content
    [answer] = answers
    assert answer.find("Dial/Number").text == desk.phone
    assert f"d={district.pk}" in twilio.redirects()[0][1]
    assert Call.objects.get().state == "connecting"
