"""The five webhooks Twilio calls: only Twilio's signature opens them, every answer is TwiML,
and a slow database still gets the caller to the district's queue."""

import time

import psycopg
import pytest
from django.db import connection

from backend.core.models import Event
from backend.telephony.models import Notification
from backend.telephony.services import notify
from hotline import numbers
from hotline.models import Call
from tests import factories as f
from tests.hotline.script import HOTLINE, ScriptedCall, client_sender, spoken
from tests.hotline.twiml import assert_twiml, public_url, signed_post, twilio_signature

pytestmark = pytest.mark.django_db

HOOKS = ["voice", "gather", "queue", "sms", "status"]
PARAMS = {"CallSid": "CA0123", "From": "+8613912345678", "To": HOTLINE, "Body": "hi"}


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize(
    "signature",
    ["missing", "garbage", "for another query", "for other parameters", "another token"],
)
def test_a_request_not_signed_by_twilio_is_refused(client, hotline, hook, signature):
    path = f"/hooks/twilio/{hook}/?step=wait&d={hotline.district_id}"
    forged = {
        "missing": None,
        "garbage": "bm90IGEgc2lnbmF0dXJl",
        "for another query": twilio_signature(public_url(path.replace("wait", "left")), PARAMS),
        "for other parameters": twilio_signature(public_url(path), {**PARAMS, "From": "+1"}),
        "another token": twilio_signature(public_url(path), PARAMS, token="not-ours"),
    }[signature]

    refused = signed_post(client, path, PARAMS, signature=forged)

    assert refused.status_code == 403
    assert not Call.objects.exists()


@pytest.mark.parametrize("hook", HOOKS)
def test_the_same_request_signed_by_twilio_gets_twiml(client, hotline, hook):
    path = f"/hooks/twilio/{hook}/?step=wait&d={hotline.district_id}"

    answered = signed_post(client, path, PARAMS)

    assert answered.status_code == 200
    assert answered["Content-Type"].startswith("text/xml")
    assert_twiml(answered.content)


def test_the_signature_covers_the_public_address_not_the_host_asked(client, hotline, settings):
    """Behind a proxy Twilio signs https://<public host>/...; the request reaches us as
    http://127.0.0.1/...: the public address is what is checked."""
    path = "/hooks/twilio/voice/"
    signed_for_host = twilio_signature(f"http://testserver{path}", PARAMS)

    assert signed_post(client, path, PARAMS, signature=signed_for_host).status_code == 403
    assert signed_post(client, path, PARAMS).status_code == 200


def test_a_get_is_not_a_webhook(client, hotline):
    path = "/hooks/twilio/voice/"
    sig = twilio_signature(public_url(path), {})

    assert client.get(path, HTTP_X_TWILIO_SIGNATURE=sig).status_code == 405


def test_a_number_that_is_no_districts_hotline_is_told_so(client):
    answer = ScriptedCall(client_sender(client), caller="+8613912345678", to="+8610000000").dial()

    assert answer.find("Hangup") is not None
    assert "120" in spoken(answer) or answer.find("Say") is not None
    assert not Call.objects.exists()


class Locks:
    """Another session holding the hotline's tables (a migration, a long report, a stuck
    transaction): every statement of ours on them waits until `release()`."""

    def __init__(self):
        self.holders = []

    def __call__(self, *tables: str) -> None:
        conn = psycopg.connect(
            dbname=connection.settings_dict["NAME"],
            user=connection.settings_dict["USER"],
            password=connection.settings_dict["PASSWORD"],
            host=connection.settings_dict["HOST"],
            port=connection.settings_dict["PORT"],
        )
        conn.execute("SET lock_timeout = '5s'")  # a test's own mistake fails, never hangs
        conn.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
        self.holders.append(conn)

    def release(self) -> None:
        for conn in self.holders:
            conn.rollback()
            conn.close()
        self.holders.clear()


@pytest.fixture
def locked():
    locks = Locks()
    yield locks
    locks.release()


@pytest.fixture
def slow_database(settings):
    settings.ANXIN = {**settings.ANXIN, "HOTLINE_DB_TIMEOUT_MS": 300}


# The lock is taken by another session, which waits for nothing of the test's own: the test's
# rows are committed (a transactional test), as a web process's would be.
slow = pytest.mark.django_db(transaction=True)


@slow
@pytest.mark.parametrize("copy", ["the process's", "the shared (Redis) one"])
def test_a_slow_database_still_puts_the_caller_in_the_districts_queue(
    client, hotline, district, locked, slow_database, monkeypatch, copy
):
    elder = f.ElderFactory(district=district)
    assert numbers.district_for_number(HOTLINE) == district.pk  # each copy filled once
    if copy != "the process's":
        monkeypatch.setattr(numbers, "_copy_at", 0.0)
    locked("hotline_call", "hotline_hotlinenumber")
    call = ScriptedCall(client_sender(client), caller=str(elder.phone))

    started = time.monotonic()
    answer = call.dial()
    took = time.monotonic() - started

    enqueue = answer.find("Enqueue")
    assert enqueue is not None
    assert enqueue.text == f"anxin-district-{district.pk}"
    assert took < 2, took
    held = call.wait(answer, seconds=600)  # still slow: hold on, never sent away unknowing
    assert held.find("Pause") is not None
    assert held.find("Leave") is None


@slow
def test_once_the_database_answers_again_the_waiting_call_is_written(
    client, hotline, district, locked, slow_database
):
    numbers.district_for_number(HOTLINE)
    call = ScriptedCall(client_sender(client), caller="+8613912345678")
    locked("hotline_call")
    queued = call.dial()
    assert queued.find("Enqueue") is not None
    locked.release()

    call.wait(queued, seconds=20)

    row = Call.objects.get(call_sid=call.sid)
    assert (row.state, row.district_id) == ("queued", district.pk)
    assert Event.objects.filter(kind="call.ringing", subject_id=row.pk).exists()


@slow
def test_the_menu_on_a_slow_database_goes_to_the_queue(
    client, catalogue, hotline, district, locked, slow_database
):
    elder = f.ElderFactory(district=district)
    call = ScriptedCall(client_sender(client), caller=str(elder.phone))
    menu = call.dial()
    locked("hotline_call")

    answer = call.press(menu, "1")

    assert answer.find("Enqueue") is not None


def test_an_outbound_call_is_answered_by_the_notification_flows(client, settings):
    row = notify(
        event="visit.check_in:1",
        to="+8613800000001",
        channel="call",
        template="call.visit_confirm_thanks",
        params={},
        language="en",
        quiet_hours=False,
    )
    path = f"/hooks/twilio/voice/?n={row.pk}"

    answer = assert_twiml(signed_post(client, path, {"CallSid": "CAout1"}).content)

    assert "Thank you" in spoken(answer)
    assert Notification.objects.get(pk=row.pk).provider_sid == "CAout1"


def test_status_callbacks_reach_the_notification_log_and_the_hotline(client, hotline):
    row = notify(
        event="visit.check_in:2",
        to="+8613800000002",
        channel="sms",
        template="sms.visit_confirm",
        params={"service": "meal", "time": "10:00"},
        language="en",
        quiet_hours=False,
    )
    Notification.objects.filter(pk=row.pk).update(provider_sid="SM0001")
    call = ScriptedCall(client_sender(client), caller="+8613912345678")
    call.dial()

    sent = signed_post(
        client, "/hooks/twilio/status/", {"MessageSid": "SM0001", "MessageStatus": "delivered"}
    )
    call.hang_up()

    assert_twiml(sent.content)
    assert Notification.objects.get(pk=row.pk).provider_status == "delivered"
    assert Call.objects.get(call_sid=call.sid).state == "ended"
    assert Call.objects.get(call_sid=call.sid).outcome == "abandoned"


def test_an_inbound_sms_is_kept_and_not_answered_where_replies_are_off(client, settings):
    from backend.telephony.models import InboundSms

    settings.ANXIN = {**settings.ANXIN, "SMS_REPLIES": False}
    params = {"From": "+8613800000003", "Body": "1234", "MessageSid": "SM0003"}

    first = assert_twiml(signed_post(client, "/hooks/twilio/sms/", params).content)
    replayed = assert_twiml(signed_post(client, "/hooks/twilio/sms/", params).content)

    assert (first.find("Message"), replayed.find("Message")) == (None, None)
    assert InboundSms.objects.get().message_sid == "SM0003"  # the replay is not a second SMS


@slow
def test_nine_on_a_slow_database_stays_an_emergency_written_once_it_answers(
    client, catalogue, hotline, district, locked, slow_database, monkeypatch
):
    from dispatch.models import OperatorAlert, ServiceRequest
    from hotline import tasks

    sent = []
    monkeypatch.setattr(
        tasks.call_emergency_ensure, "apply_async", lambda **kw: sent.append(kw["kwargs"])
    )
    elder = f.ElderFactory(district=district)
    call = ScriptedCall(client_sender(client), caller=str(elder.phone))
    menu = call.dial()
    locked("hotline_call")

    queued = call.press(menu, "9")

    assert "e=1" in queued.find("Enqueue").get("waitUrl")
    assert "120" in spoken(queued)
    held = call.wait(queued, seconds=3600)  # still slow: an emergency is never sent away
    assert (held.find("Leave"), "120" in spoken(held)) == (None, True)
    assert sent == [
        {"call_sid": call.sid, "from_number": call.caller, "to_number": HOTLINE,
         "district_id": district.pk}
    ]  # fmt: skip
    locked.release()

    assert call.wait(queued, seconds=3600).find("Leave") is None
    tasks.call_emergency_ensure(**sent[0])  # the urgent task, when it runs
    call.wait(queued, seconds=3620)

    sr = ServiceRequest.objects.get(elder=elder)
    assert (sr.priority, sr.channel) == ("emergency", "ivr")
    assert OperatorAlert.objects.filter(request=sr, kind="caller_waiting").count() == 1
    row = Call.objects.get(call_sid=call.sid)
    assert (row.state, row.priority, row.request, row.menu_path) == ("queued", "emergency", sr, "9")


@pytest.mark.parametrize(
    ("path", "params", "missing"),
    [
        ("/hooks/twilio/voice/", {"From": "+8613912345678", "To": HOTLINE}, "CallSid"),
        ("/hooks/twilio/voice/", {"CallSid": "CA1", "To": HOTLINE}, "From"),
        ("/hooks/twilio/gather/", {"CallSid": "CA1", "From": "+8613912345678"}, "To"),
        ("/hooks/twilio/queue/?step=wait&d=1", {"From": "+86139", "To": HOTLINE}, "CallSid"),
        ("/hooks/twilio/voice/?n=abc", {"CallSid": "CA1"}, "n"),
        ("/hooks/twilio/status/?n=abc", {"CallSid": "CA1", "CallStatus": "completed"}, "n"),
        ("/hooks/twilio/status/", {"CallStatus": "completed"}, "CallSid"),
        ("/hooks/twilio/sms/", {"Body": "1"}, "From"),
    ],
)
def test_a_signed_request_missing_what_it_must_carry_is_refused_before_any_write(
    client, hotline, path, params, missing
):
    refused = signed_post(client, path.replace("d=1", f"d={hotline.district_id}"), params)

    assert refused.status_code == 400
    assert missing in refused.content.decode()
    assert not Call.objects.exists()
