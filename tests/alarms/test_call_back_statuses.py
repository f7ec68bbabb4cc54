"""An alarm call-back's progress from what Twilio reports: statuses of both legs and the <Dial>'s
end, in any order and repeated, give one and the same end; a voicemail box on the operator's
phone never calls the elder; the sweep ends a call-back whose news stopped, and a late final
status still corrects it."""

import io
import itertools
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import responses
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from alarms.models import Alarm
from backend.core.models import Event
from hotline.alarm_call_back import call_back_progress
from hotline.models import AlarmCallBack
from hotline.tasks import calls_sweep
from tests.alarms.call_back_script import PlacedCall, spoken, twilio_places_calls
from tests.alarms.conftest import message, send
from tests.conftest import api


@pytest.fixture
def desk(operator):
    operator.phone = "+8613700000001"
    operator.save()
    return operator


@pytest.fixture
def twilio(settings):
    settings.NOTIFICATION_BACKEND = "backend.telephony.twilio_backend.TwilioBackend"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.placed = []
        twilio_places_calls(mock, mock.placed)
        yield mock


@pytest.fixture
def call(device, client, desk, twilio) -> PlacedCall:
    """An alarm, called back: Twilio has placed the operator's call."""
    alarm_id = send(client, device, message("fall")).json()["alarm_id"]
    started = api(desk).post(f"/api/v1/alarms/{alarm_id}/call-back/")
    assert started.status_code == 201, started.content
    return PlacedCall(client, twilio.placed[0])


def row() -> AlarmCallBack:
    return AlarmCallBack.objects.get()


def ended_events() -> list[dict]:
    return list(
        Event.objects.filter(kind="alarm.call_back_ended")
        .order_by("pk")
        .values_list("data", flat=True)
    )


def connect(call: PlacedCall):
    """The operator answers and presses 1: the <Dial> to the elder."""
    return call.press(call.answer(), "1")


# The reports of a call-back the elder answered, each a step Twilio may take in any order.
ANSWERED_REPORTS = {
    "operator in-progress": lambda call, dial: call.status("in-progress"),
    "elder ringing": lambda call, dial: call.elder(dial, "ringing"),
    "elder in-progress": lambda call, dial: call.elder(dial, "in-progress"),
    "elder completed": lambda call, dial: call.elder(dial, "completed"),
    "dial completed": lambda call, dial: call.dial_ends(dial, "completed"),
    "operator completed": lambda call, dial: call.status("completed"),
}
ORDERS = [
    list(ANSWERED_REPORTS),
    list(reversed(ANSWERED_REPORTS)),
    ["operator completed", "elder ringing", "dial completed", "operator in-progress"],
    ["elder in-progress", "operator completed", "elder ringing", "elder completed"],
]


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: " / ".join(order))
def test_statuses_in_any_order_and_repeated_end_as_answered(call, order):
    dial = connect(call)

    for name in order:
        ANSWERED_REPORTS[name](call, dial)
    settled = row()
    events = Event.objects.count()
    for name in order:  # Twilio's retries, or a replay: nothing changes
        ANSWERED_REPORTS[name](call, dial)

    assert (settled.state, settled.outcome) == ("ended", "answered")
    assert (settled.operator_status, settled.elder_status) == ("completed", "completed")
    assert Event.objects.count() == events
    assert ended_events()[-1]["outcome"] == "answered"
    assert (row().state, row().outcome, row().ended_at) == ("ended", "answered", settled.ended_at)


@pytest.mark.parametrize(
    ("dial_status", "outcome", "said"),
    [
        ("no-answer", "no_answer", "did not answer"),
        ("busy", "busy", "busy"),
        ("failed", "failed", "could not be put through"),
    ],
)
def test_an_elder_who_does_not_answer_ends_it_whatever_comes_first(
    call, dial_status, outcome, said, english
):
    dial = connect(call)
    call.status("completed")  # the operator's leg first, when the elder's phone gave up

    told = call.dial_ends(dial, dial_status)
    call.elder(dial, dial_status)

    assert said in spoken(told) and told[-1].tag == "Hangup"
    assert (row().state, row().outcome) == ("ended", outcome)
    first, corrected = ended_events()  # "hung up" from the operator's leg, then the elder's end
    assert (first["outcome"], corrected["outcome"]) == ("operator_hung_up", outcome)
    assert corrected["corrected_from"] == "operator_hung_up"


def test_a_voicemail_box_answering_the_operators_phone_never_calls_the_elder(call):
    asked = call.answer()  # a voicemail box picks up, and presses nothing

    call.status("completed")

    assert asked[-1].tag == "Hangup" and asked.find(".//Dial") is None
    assert (row().state, row().outcome, row().confirmed_at) == (
        "ended",
        "operator_no_answer",
        None,
    )


def test_another_key_asks_again_and_does_not_dial(call, english):
    asked = call.answer()

    again = call.press(asked, "7")

    assert again.find("Dial") is None and again.find("Gather") is not None
    assert "press 1" in spoken(again)
    assert row().state == "operator_answered"


def test_the_operator_not_answering_ends_it_and_nobody_owns_the_alarm(call):
    call.status("ringing")
    call.status("no-answer")
    call.status("ringing")  # late, out of order: ignored

    assert (row().state, row().outcome) == ("ended", "operator_no_answer")
    assert row().operator_status == "no-answer"  # a final status stays
    assert Alarm.objects.get().acknowledged_by is None


def test_a_late_status_does_not_undo_the_elders_end(call):
    dial = connect(call)
    call.elder(dial, "no-answer")

    call.elder(dial, "ringing")  # late, out of order
    call.status("completed")  # the operator hangs up after hearing why

    assert (row().state, row().outcome, row().elder_status) == ("ended", "no_answer", "no-answer")
    assert len(ended_events()) == 1


def test_a_call_back_whose_news_stopped_is_ended_by_the_sweep_and_corrected_late(call):
    dial = connect(call)
    call.elder(dial, "ringing")
    assert calls_sweep()["alarm_call_backs_ended"] == 0  # not yet: the elder's phone may ring

    AlarmCallBack.objects.update(updated_at=timezone.now() - timedelta(minutes=4))
    assert calls_sweep()["alarm_call_backs_ended"] == 1
    gave_up = row()
    call.dial_ends(dial, "busy")  # the lost news, late

    assert (gave_up.state, gave_up.outcome, gave_up.error_code) == (
        "ended",
        "unknown",
        "no_final_status",
    )
    assert (row().state, row().outcome) == ("ended", "busy")
    assert calls_sweep()["alarm_call_backs_ended"] == 0


def test_a_1_pressed_after_the_sweep_ended_it_dials_nobody_and_changes_no_outcome(call):
    asked = call.answer()
    AlarmCallBack.objects.update(updated_at=timezone.now() - timedelta(minutes=4))
    assert calls_sweep()["alarm_call_backs_ended"] == 1

    pressed = call.press(asked, "1")
    call.status("completed")  # the operator hangs up on hearing it is over

    assert pressed.find("Dial") is None and pressed[-1].tag == "Hangup"
    assert (row().state, row().outcome, row().confirmed_at) == (
        "ended",
        "operator_no_answer",
        None,
    )
    assert Alarm.objects.get().acknowledged_by is None


def test_a_conversation_is_not_ended_by_the_sweep_before_twilio_would(call):
    dial = connect(call)
    call.elder(dial, "in-progress")
    AlarmCallBack.objects.update(updated_at=timezone.now() - timedelta(hours=1))

    assert calls_sweep()["alarm_call_backs_ended"] == 0
    AlarmCallBack.objects.update(updated_at=timezone.now() - timedelta(hours=5))
    assert calls_sweep()["alarm_call_backs_ended"] == 1
    assert (row().state, row().outcome) == ("ended", "answered")


def test_the_state_follows_from_the_facts_alone():
    """The derivation, on its own: each leg's news, whatever order it was written in."""
    now = timezone.now()
    facts = {
        "call_sid": "CA1",
        "operator_answered_at": now,
        "confirmed_at": now,
        "elder_status": "ringing",
    }
    seen = set()
    for keys in itertools.permutations(facts):
        cb = AlarmCallBack()
        for key in keys:
            setattr(cb, key, facts[key])
        seen.add(call_back_progress(cb))

    assert seen == {("ringing_elder", "")}
    assert call_back_progress(AlarmCallBack()) == ("placing", "")
    assert call_back_progress(AlarmCallBack(operator_status="busy")) == (
        "ended",
        "operator_no_answer",
    )
    assert call_back_progress(AlarmCallBack(operator_status="failed")) == ("ended", "failed")


def test_manage_alarm_call_back_plays_twilio_for_one_in_development(
    device, client, desk, monkeypatch, english
):
    """The development path: the file (here recording) backend places nothing, and the command
    plays Twilio's signed requests; here they reach the platform through the test client."""
    alarm_id = send(client, device, message("sos")).json()["alarm_id"]
    assert api(desk).post(f"/api/v1/alarms/{alarm_id}/call-back/").status_code == 201

    def urlopen(request, timeout):
        parts = urlsplit(request.full_url)
        answer = Client().post(
            f"{parts.path}?{parts.query}",
            data=request.data,
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=request.get_header("X-twilio-signature"),
        )
        assert answer.status_code == 200, answer.content
        return io.BytesIO(answer.content)

    monkeypatch.setattr("hotline.management.commands.hotline_call.urlopen", urlopen)
    out = io.StringIO()
    call_command("alarm_call_back", "--elder", "busy", stdout=out)

    assert "Calling" in out.getvalue() and "busy" in out.getvalue()
    assert (row().state, row().outcome) == ("ended", "busy")
    assert f"call-back {row().pk}: ended busy" in out.getvalue()


def test_a_report_about_another_call_changes_nothing(call):
    other = {"Sid": "CA" + "9" * 32, "Url": call.url, "StatusCallback": call.status_url}
    stranger = PlacedCall(call.client, other)  # the same URLs, another call

    stranger.status("no-answer")
    pressed = stranger.press(call.answer(), "1")

    assert (row().state, row().confirmed_at) == ("operator_answered", None)
    assert pressed.find("Dial") is None and pressed[-1].tag == "Hangup"


def test_another_call_on_the_answer_url_hears_nothing_of_the_alarm(call, elder, english):
    asked = call.answer()
    stranger = PlacedCall(
        call.client, {"Sid": "CA" + "9" * 32, "Url": call.url, "StatusCallback": call.status_url}
    )

    heard = stranger.answer()  # another signed call, sent to this call-back's URL

    assert elder.full_name in spoken(asked)
    assert elder.full_name not in spoken(heard) and elder.address not in spoken(heard)
    assert heard.find("Gather") is None and heard[-1].tag == "Hangup"
    assert (row().state, row().call_sid) == ("operator_answered", call.sid)
