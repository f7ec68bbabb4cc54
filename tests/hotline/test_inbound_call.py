"""A scripted inbound call, request by request as Twilio makes them: a known caller creates a
request from the menu, an unknown one waits in the operator queue until an operator takes the
call and is put through."""

import pytest

from backend.core.models import Event
from dispatch.models import OperatorAlert, ServiceRequest
from hotline.models import Call, CallBack
from tests import factories as f
from tests.conftest import api
from tests.hotline.script import ScriptedCall, client_sender, spoken

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone(client):
    def call(caller: str) -> ScriptedCall:
        return ScriptedCall(client_sender(client), caller=caller)

    return call


@pytest.fixture
def settings_en(settings):
    settings.ANXIN = {**settings.ANXIN, "IVR_LANGUAGE": "en"}
    return settings


def kinds(call: Call) -> list[str]:
    return list(
        Event.objects.filter(subject_type="call", subject_id=call.pk)
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def test_a_known_caller_chooses_a_meal_and_hears_its_reference(
    hotline, district, phone, settings_en
):
    elder = f.ElderFactory(district=district)
    call = phone(str(elder.phone))

    menu = call.dial()
    answer = call.press(menu, "1")

    sr = ServiceRequest.objects.get(elder=elder)
    assert (sr.service_type.code, sr.channel, sr.caller) == ("meal", "ivr", None)
    digits = ", ".join(ch for ch in sr.reference if ch.isdigit())
    assert spoken(answer).count(digits) == 2
    assert answer[-1].tag == "Hangup"
    row = Call.objects.get(call_sid=call.sid)
    assert (row.state, row.menu_path, row.request, list(row.elders.all())) == (
        "served",
        "1",
        sr,
        [elder],
    )
    assert "press 1" in spoken(menu)
    assert kinds(row) == ["call.ringing", "call.menu", "call.served"]


def test_the_menu_is_in_mandarin_by_default(hotline, district, phone):
    elder = f.ElderFactory(district=district)

    menu = phone(str(elder.phone)).dial()

    say = menu.find("Gather/Say")
    assert say.get("language") == "cmn-CN"


@pytest.mark.parametrize(
    ("key", "code"),
    [("2", "cleaning"), ("3", "bathing"), ("4", "medical"), ("5", "escort")],
)
def test_each_menu_key_is_its_service(hotline, district, phone, key, code):
    elder = f.ElderFactory(district=district)
    call = phone(str(elder.phone))

    call.press(call.dial(), key)

    assert ServiceRequest.objects.get(elder=elder).service_type.code == code


def test_a_contact_calling_for_their_one_elder_gets_the_menu(hotline, district, phone):
    elder = f.ElderFactory(district=district)
    contact = f.ContactFactory(elder=elder, priority=1)

    menu = phone(str(contact.phone)).dial()

    assert menu.find("Gather") is not None


def test_nine_raises_an_emergency_and_puts_the_caller_first_in_the_queue(
    hotline, district, phone, operator
):
    waiting = phone("+8613912345678")
    waiting.dial()
    elder = f.ElderFactory(district=district)
    call = phone(str(elder.phone))

    answer = call.press(call.dial(), "9")

    sr = ServiceRequest.objects.get(elder=elder)
    assert (sr.service_type.code, sr.priority, sr.channel) == ("emergency", "emergency", "ivr")
    assert answer.find("Enqueue") is not None
    assert "120" in spoken(answer)
    listed = api(operator).get("/api/v1/calls/").json()["results"]
    assert [c["from_number"] for c in listed] == [str(elder.phone), waiting.caller]
    assert listed[0]["priority"] == "emergency"
    assert listed[0]["request_reference"] == sr.reference


def test_nine_alerts_the_operators_and_the_one_who_answers_the_caller_answers_for_it(
    hotline, district, phone, operator, twilio
):
    operator.phone = "+8613700000001"
    operator.save()
    elder = f.ElderFactory(district=district)
    call = phone(str(elder.phone))

    call.press(call.dial(), "9")

    sr = ServiceRequest.objects.get(elder=elder)
    alert = OperatorAlert.objects.get(request=sr, kind="caller_waiting")
    raised = Event.objects.get(kind="alert.raised", subject_id=alert.pk)
    assert (raised.district_id, raised.data["call"]) == (district.pk, Call.objects.get().pk)
    assert alert.resolved_at is None

    taken = api(operator).post(f"/api/v1/calls/{Call.objects.get().pk}/take/")
    assert taken.status_code == 200, taken.content
    alert.refresh_from_db()
    assert alert.resolved_at is None  # taken is not answered: the operator's phone only rings
    [(_, url)] = twilio.redirects()
    whisper = call.operator_answers(call.redirected(url))
    call.operator_presses(whisper, "1")

    alert.refresh_from_db()
    assert (alert.resolution, alert.resolved_by, alert.acknowledged_by) == (
        "caller_answered",
        operator,
        operator,
    )


def test_an_emergency_caller_is_never_sent_to_voicemail(hotline, district, phone):
    elder = f.ElderFactory(district=district)
    call = phone(str(elder.phone))
    queued = call.press(call.dial(), "9")

    held = call.wait(queued, seconds=3600)

    assert held.find("Leave") is None
    assert held.find("Pause") is not None


@pytest.mark.parametrize("how", ["zero", "silence", "two unknown keys"])
def test_zero_silence_or_unknown_keys_reach_the_operator_queue(hotline, district, phone, how):
    elder = f.ElderFactory(district=district)
    call = phone(str(elder.phone))
    menu = call.dial()

    if how == "zero":
        answer = call.press(menu, "0")
    elif how == "silence":
        answer = call.say_nothing(menu)
    else:
        again = call.press(menu, "7")
        assert again.find("Gather") is not None
        answer = call.press(again, "8")

    assert answer.find("Enqueue") is not None
    assert Call.objects.get(call_sid=call.sid).state == "queued"
    assert not ServiceRequest.objects.exists()


def test_several_elders_on_one_number_go_to_an_operator_with_both_on_screen(
    hotline, district, phone, operator
):
    landline = "+864318888123"
    one = f.ElderFactory(district=district, landline=landline)
    two = f.ElderFactory(district=district, landline=landline)

    answer = phone(landline).dial()

    assert answer.find("Enqueue") is not None
    ringing = Event.objects.get(kind="call.ringing")
    assert {e["id"] for e in ringing.data["elders"]} == {one.pk, two.pk}
    assert {e["matched_on"] for e in ringing.data["elders"]} == {"landline"}
    listed = api(operator).get("/api/v1/calls/").json()["results"]
    assert {e["id"] for e in listed[0]["elders"]} == {one.pk, two.pk}


def test_an_unknown_caller_waits_and_an_operator_who_takes_the_call_is_put_through(
    hotline, district, phone, operator, twilio, settings_en
):
    operator.phone = "+8613700000001"
    operator.language = "en"
    operator.save()
    call = phone("+8613912345678")

    queued = call.dial()
    held = call.wait(queued, seconds=10)

    assert "operator" in spoken(queued)
    assert held.find("Leave") is None
    desk = api(operator)
    listed = desk.get("/api/v1/calls/").json()["results"]
    assert [(c["from_number"], c["elders"], c["state"]) for c in listed] == [
        (call.caller, [], "queued")
    ]

    taken = desk.post(f"/api/v1/calls/{listed[0]['id']}/take/", HTTP_IDEMPOTENCY_KEY="take-1")

    assert taken.status_code == 200, taken.content
    assert taken.json()["taken_by"] == operator.username
    [(sid, url)] = twilio.redirects()
    assert sid == call.sid
    dial = call.redirected(url)
    assert dial.find("Dial/Number").text == "+8613700000001"
    whisper = call.operator_answers(dial)
    assert whisper.find("Gather/Say") is not None
    assert "Connecting" in spoken(call.operator_presses(whisper, "1"))
    call.hang_up()
    row = Call.objects.get(call_sid=call.sid)
    assert (row.state, row.outcome, row.taken_by) == ("ended", "answered", operator)
    assert kinds(row) == [
        "call.ringing",
        "call.queued",
        "call.connecting",
        "call.connected",
        "call.ended",
    ]
    assert desk.get("/api/v1/calls/").json()["results"] == []


def test_the_first_take_wins_and_a_retry_gets_the_same_take(
    hotline, district, phone, operator, twilio
):
    operator.phone = "+8613700000001"
    operator.save()
    other = f.UserFactory(role="operator", district=district, phone="+8613700000002")
    phone("+8613912345678").dial()
    pk = Call.objects.get().pk

    first = api(operator).post(f"/api/v1/calls/{pk}/take/")
    retried = api(operator).post(f"/api/v1/calls/{pk}/take/")
    second = api(other).post(f"/api/v1/calls/{pk}/take/")

    assert (first.status_code, retried.status_code, second.status_code) == (200, 200, 409)
    assert retried.json() == first.json()
    assert second.json()["error"]["code"] == "call_taken"
    assert operator.username in second.json()["error"]["message"]
    assert len(twilio.redirects()) == 1


def test_an_operator_without_a_registered_phone_is_told_so(hotline, district, phone, operator):
    phone("+8613912345678").dial()
    pk = Call.objects.get().pk

    refused = api(operator).post(f"/api/v1/calls/{pk}/take/")

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "operator_phone_missing"
    assert "phone" in refused.json()["error"]["fields"]
    assert Call.objects.get().state == "queued"


def test_twilio_refusing_the_redirect_leaves_the_call_waiting(
    hotline, district, phone, operator, twilio
):
    import responses

    operator.phone = "+8613700000001"
    operator.save()
    phone("+8613912345678").dial()
    twilio.replace(responses.POST, twilio.registered()[0].url, status=400, json={"code": 21220})
    pk = Call.objects.get().pk

    refused = api(operator).post(f"/api/v1/calls/{pk}/take/")

    assert refused.status_code == 503
    row = Call.objects.get()
    assert (row.state, row.taken_by) == ("queued", None)
    assert kinds(row)[-2:] == ["call.connecting", "call.queued"]
    requeued = Event.objects.filter(subject_type="call", subject_id=row.pk).last()
    assert requeued.data["reason"] == "redirect_refused"
    assert [c["id"] for c in api(operator).get("/api/v1/calls/").json()["results"]] == [row.pk]


def test_an_operator_whose_phone_does_not_answer_puts_the_caller_back(
    hotline, district, phone, operator, twilio
):
    operator.phone = "+8613700000001"
    operator.save()
    call = phone("+8613912345678")
    call.dial()
    api(operator).post(f"/api/v1/calls/{Call.objects.get().pk}/take/")
    [(_, url)] = twilio.redirects()
    dial = call.redirected(url)

    answer = call.dial_ends(dial, "no-answer")

    assert answer.find("Enqueue") is not None
    row = Call.objects.get()
    assert (row.state, row.taken_by) == ("queued", None)


def test_nobody_takes_it_in_time_the_caller_leaves_a_message_for_a_call_back(
    hotline, district, phone, operator, settings
):
    elder = f.ElderFactory(district=district)
    call = phone(str(elder.phone))
    queued = call.press(call.dial(), "0")
    limit = settings.ANXIN["HOTLINE_QUEUE_WAIT_S"]

    assert call.wait(queued, seconds=limit - 1).find("Leave") is None
    left = call.wait(queued, seconds=limit)
    assert [child.tag for child in left] == ["Leave"]
    prompt = call.leave_queue(queued)
    assert prompt.find("Record") is not None
    thanks = call.record(prompt)
    call.hang_up()

    assert thanks[-1].tag == "Hangup"
    back = CallBack.objects.get()
    assert back.call.recording_sid.startswith("RE")
    assert back.call.outcome == "voicemail"
    desk = api(operator)
    [listed] = desk.get("/api/v1/call-backs/").json()["results"]
    assert listed["recording_sid"] == back.call.recording_sid
    assert [e["id"] for e in listed["elders"]] == [elder.pk]
    other = f.UserFactory(role="operator", district=district)

    assert desk.post(f"/api/v1/call-backs/{back.pk}/take/").status_code == 200
    assert api(other).post(f"/api/v1/call-backs/{back.pk}/take/").status_code == 409
    assert api(other).post(f"/api/v1/call-backs/{back.pk}/close/", {"note": "x"}).status_code == 409
    closed = desk.post(f"/api/v1/call-backs/{back.pk}/close/", {"note": "called back, fine"})
    assert closed.status_code == 200
    assert (closed.json()["closed_by"], closed.json()["state"]) == (operator.username, "closed")
    assert desk.get("/api/v1/call-backs/").json()["results"] == []


def test_a_call_from_another_district_is_not_listed_or_taken(hotline, phone, operator, twilio):
    elsewhere = f.UserFactory(
        role="operator",
        district=f.DistrictFactory(code="220102000000", name="南关区"),
        phone="+8613700000009",
    )
    phone("+8613912345678").dial()
    pk = Call.objects.get().pk

    assert api(elsewhere).get("/api/v1/calls/").json()["results"] == []
    assert api(elsewhere).post(f"/api/v1/calls/{pk}/take/").status_code == 404


def test_a_retried_webhook_makes_one_call(hotline, district, client):
    elder = f.ElderFactory(district=district)
    call = ScriptedCall(client_sender(client), caller=str(elder.phone))

    call.dial()
    again = call.dial()

    assert again.find("Gather") is not None
    assert Call.objects.count() == 1
    assert Event.objects.filter(kind="call.ringing").count() == 1
