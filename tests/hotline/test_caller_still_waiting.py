"""A caller Twilio still holds in the queue is never lost by the platform: a wait request is
proof the caller waits, whatever the rows say (ended by the sweep while the wait requests
could not be written, left `connected` when the <Dial>'s end was not written); a take whose
redirect timed out is left to the connect step and the sweep; an emergency stays one from the
wait request alone; a call left in voicemail with nothing reported is ended by the sweep."""

from datetime import timedelta

import pytest
import requests
import responses
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from backend.core.models import Event
from dispatch.models import OperatorAlert, ServiceRequest
from hotline import services, webhooks
from hotline.models import Call, CallBack
from hotline.tasks import calls_sweep
from tests import factories as f
from tests.conftest import api
from tests.hotline.script import ScriptedCall, client_sender
from tests.hotline.twiml import local_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(operator):
    operator.phone = "+8613700000001"
    operator.save()
    return operator


@pytest.fixture
def phone(client):
    def call(caller: str) -> ScriptedCall:
        return ScriptedCall(client_sender(client), caller=caller)

    return call


def row(call: ScriptedCall) -> Call:
    return Call.objects.get(call_sid=call.sid)


def listed(operator) -> list[int]:
    return [c["id"] for c in api(operator).get("/api/v1/calls/").json()["results"]]


def take(operator, call: ScriptedCall, twilio):
    taken = api(operator).post(f"/api/v1/calls/{row(call).pk}/take/")
    assert taken.status_code == 200, taken.content
    return call.redirected(twilio.redirects()[-1][1])


def caller_waiting(call: ScriptedCall) -> OperatorAlert:
    sr = ServiceRequest.objects.get(pk=row(call).request_id)
    return OperatorAlert.objects.filter(request=sr, kind="caller_waiting").latest("episode")


def test_a_caller_the_sweep_took_for_gone_is_back_in_the_list_at_the_next_wait_request(
    catalogue, hotline, district, phone, desk, twilio
):
    elder = f.ElderFactory(district=district)
    call = phone(str(elder.phone))
    queued = call.press(call.dial(), "9")
    long_ago = timezone.now() - timedelta(minutes=5)  # the wait requests could not be written
    Call.objects.update(queued_at=long_ago, last_wait_at=long_ago)
    assert calls_sweep()["gone_ended"] == 1
    back = CallBack.objects.get(call=row(call))
    OperatorAlert.objects.filter(kind="caller_waiting").update(resolved_at=timezone.now())

    hold = call.wait(queued, seconds=90)

    assert hold.find("Leave") is None
    again = row(call)
    assert (again.state, again.outcome, again.ended_at) == ("queued", "", None)
    assert listed(desk) == [again.pk]
    back.refresh_from_db()
    assert back.state == "cancelled"
    assert back.pk not in [b["id"] for b in api(desk).get("/api/v1/call-backs/").json()["results"]]
    resumed = Event.objects.filter(subject_type="call", subject_id=again.pk).last()
    assert (resumed.before, resumed.after, resumed.data["event"]) == ("ended", "queued", "resume")
    assert caller_waiting(call).resolved_at is None  # the operators are alerted again
    take(desk, call, twilio)  # and one of them can take it
    assert row(call).state == "connecting"


def test_a_call_twilio_ended_is_not_brought_back_by_a_late_wait_request(hotline, phone):
    call = phone("+8613912345678")
    queued = call.dial()
    call.hang_up()

    call.wait(queued, seconds=30)  # in flight when the caller hung up

    assert row(call).state == "ended"


def test_a_connected_caller_back_in_twilios_queue_is_queued_again_and_can_leave_a_message(
    hotline, phone, desk, twilio
):
    call = phone("+8613912345678")
    queued = call.dial()
    dial = take(desk, call, twilio)
    call.operator_presses(call.operator_answers(dial), "1")
    assert row(call).state == "connected"
    call.wait(queued, seconds=5)  # a wait request already on its way when the call was taken
    assert row(call).state == "connected"
    # The conversation ends, the <Dial>'s end is not written: Twilio puts the caller back.
    Call.objects.update(taken_at=timezone.now() - timedelta(minutes=3))

    limit = settings.ANXIN["HOTLINE_QUEUE_WAIT_S"]
    leave = call.wait(queued, seconds=limit)
    assert leave.find("Leave") is not None
    assert row(call).state == "queued"
    call.record(call.leave_queue(queued))

    again = row(call)
    assert (again.state, again.outcome, again.taken_by) == ("voicemail", "voicemail", None)
    assert CallBack.objects.get(call=again).state == "open"


def test_a_redirect_that_timed_out_after_twilio_moved_the_caller_is_left_alone(
    hotline, district, phone, desk, twilio
):
    call = phone("+8613912345678")
    call.dial()
    pk = row(call).pk
    url = twilio.registered()[0].url

    def moved_then_timed_out(request):  # Twilio redirected; our side stopped waiting
        dial = call.redirected(local_path(dict(_form(request.body))["Url"]))
        call.operator_presses(call.operator_answers(dial), "1")
        raise requests.exceptions.ReadTimeout("read timed out")

    twilio.replace(responses.POST, url, body=b"")
    twilio.remove(responses.POST, url)
    twilio.add_callback(responses.POST, url, callback=moved_then_timed_out)

    unknown = api(desk).post(f"/api/v1/calls/{pk}/take/")

    assert unknown.status_code == 503
    assert (row(call).state, row(call).taken_by) == ("connected", desk)
    assert listed(desk) == []


def test_a_refused_redirect_requeues_only_a_call_still_being_connected(
    hotline, phone, desk, twilio
):
    call = phone("+8613912345678")
    call.dial()
    taken = services.call_take(call_id=row(call).pk, user=desk)
    Call.objects.filter(pk=taken.pk).update(state="connected", answered_at=timezone.now())

    services.call_requeue(
        call_sid=call.sid, operator_id=desk.pk, reason="redirect_refused", only_from="connecting"
    )

    assert row(call).state == "connected"


def _form(body) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(body if isinstance(body, str) else body.decode())


def test_an_emergencys_connect_url_says_so_and_its_fallback_holds_it_as_one(
    catalogue, hotline, district, phone, desk, twilio, monkeypatch
):
    elder = f.ElderFactory(district=district)
    call = phone(str(elder.phone))
    call.press(call.dial(), "9")
    api(desk).post(f"/api/v1/calls/{row(call).pk}/take/")
    connect = twilio.redirects()[-1][1]
    assert "e=1" in connect

    def slow(**kwargs):
        raise DatabaseError("canceling statement due to statement timeout")

    monkeypatch.setattr(services, "call_connecting_phone", slow)
    answer = call.redirected(connect)

    assert "e=1" in answer.find("Enqueue").get("waitUrl")


def test_the_operators_steps_name_the_callers_call_in_their_url(hotline, phone, desk, twilio):
    call = phone("+8613912345678")
    call.dial()
    dial = take(desk, call, twilio)

    number_url = dial.find("Dial/Number").get("url")
    assert f"c={call.sid}" in number_url and f"call={row(call).pk}" in number_url
    whisper = call.operator_answers(dial)  # no ParentCallSid sent
    assert f"c={call.sid}" in whisper.find("Gather").get("action")
    call.operator_presses(whisper, "1")
    assert row(call).state == "connected"


def test_a_call_left_in_voicemail_with_nothing_reported_is_ended_and_called_back(
    hotline, phone, settings
):
    call = phone("+8613912345678")
    queued = call.dial()
    limit = settings.ANXIN["HOTLINE_QUEUE_WAIT_S"]
    call.leave_queue(call.wait(queued, seconds=limit) and queued)
    assert row(call).state == "voicemail"
    assert calls_sweep()["voicemail_ended"] == 0  # the message may still be being left

    later = timezone.now() - timedelta(seconds=settings.ANXIN["HOTLINE_MESSAGE_MAX_S"] + 61)
    Call.objects.update(last_wait_at=later)
    assert calls_sweep()["voicemail_ended"] == 1

    ended = row(call)
    assert (ended.state, ended.outcome) == ("ended", "abandoned")
    assert CallBack.objects.get(call=ended).state == "open"


def test_an_emergency_the_menu_could_not_write_is_written_by_the_wait_request_alone(
    catalogue, hotline, district, phone, desk, monkeypatch
):
    elder = f.ElderFactory(district=district)
    call = phone(str(elder.phone))
    menu = call.dial()

    def slow(**kwargs):
        raise DatabaseError("canceling statement due to statement timeout")

    with monkeypatch.context() as patch:
        patch.setattr(services, "call_menu_choose", slow)
        patch.setattr(webhooks, "enqueue_after_commit", lambda *args, **kwargs: None)
        queued = call.press(menu, "9")  # the urgent task never runs: the broker is down
    assert row(call).priority == "routine"

    call.wait(queued, seconds=20)

    waiting = row(call)
    assert (waiting.state, waiting.priority) == ("queued", "emergency")
    assert waiting.request.service_type.code == "emergency"
    assert listed(desk) == [waiting.pk]
