"""An inbound SMS the webhook could not keep while the database was slow: Twilio does not send
it again, so it is taken off the webhook's clock (an urgent task) once the database answers."""

import pytest

from backend.telephony import flows
from backend.telephony.models import InboundSms, Notification
from backend.telephony.tasks import inbound_sms_take
from tests.hotline.script import HOTLINE
from tests.hotline.test_webhooks import Locks
from tests.hotline.twiml import assert_twiml, signed_post

pytestmark = pytest.mark.django_db(transaction=True)  # the lock is another session's

SENDER = "+8613800000077"


@pytest.fixture
def answering(settings):
    """Two-way SMS on, and a handler that answers "hello"."""
    settings.ANXIN = {**settings.ANXIN, "SMS_REPLIES": True, "HOTLINE_DB_TIMEOUT_MS": 300}

    def hello(from_number, body):
        return "Hello to you." if body == "hello" else None

    flows.register_sms_handler(hello)
    yield
    flows._sms_handlers.remove(hello)


def test_an_sms_the_database_was_too_slow_for_is_taken_once_it_answers(
    client, answering, monkeypatch
):
    sent = []
    monkeypatch.setattr(inbound_sms_take, "apply_async", lambda **kw: sent.append(kw))
    locks = Locks()
    locks("telephony_inboundsms")
    params = {"From": SENDER, "To": HOTLINE, "Body": "hello", "MessageSid": "SM77"}
    try:
        answer = assert_twiml(signed_post(client, "/hooks/twilio/sms/", params).content)
    finally:
        locks.release()

    assert answer.find("Message") is None  # nothing could be said in time
    assert InboundSms.objects.count() == 0
    [task] = sent
    assert task["kwargs"] == {
        "from_number": SENDER, "to_number": HOTLINE, "body": "hello", "message_sid": "SM77"
    }  # fmt: skip

    assert inbound_sms_take.apply(kwargs=task["kwargs"]).get() == "replied"
    assert inbound_sms_take.apply(kwargs=task["kwargs"]).get() == "taken"  # redelivered

    message = InboundSms.objects.get()
    assert (message.sender, message.body, message.message_sid) == (SENDER, "hello", "SM77")
    assert message.reply == "Hello to you."
    [reply] = Notification.objects.all()  # the webhook had answered: the reply is its own SMS
    assert (reply.recipient, reply.channel, reply.template) == (SENDER, "sms", "sms_reply.text")
    assert reply.params == {"text": "Hello to you."}
    assert reply.state == "sent"


def test_the_late_sms_task_goes_to_the_urgent_queue(settings):
    from backend.celery import app

    queue = app.amqp.router.route({}, inbound_sms_take.name)["queue"].name
    assert queue == settings.ANXIN_QUEUES["urgent"]
