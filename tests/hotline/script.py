"""A caller on the hotline, played as Twilio plays one: each webhook request signed as Twilio
signs it, each next request the URL the previous answer named (`action`, `waitUrl`, a
<Redirect>, <Record>'s action, a <Number>'s url), every answer checked as TwiML."""

import itertools
from collections.abc import Callable
from xml.etree.ElementTree import Element

from tests.hotline.twiml import assert_twiml, local_path

HOTLINE = "+8643112349"
_sids = itertools.count(1)

# (path with query, params) -> (status code, content type, body)
Send = Callable[[str, dict], tuple[int, str, str]]


def client_sender(client) -> Send:
    from tests.hotline.twiml import signed_post

    def send(path: str, params: dict) -> tuple[int, str, str]:
        response = signed_post(client, path, params)
        return response.status_code, response.get("Content-Type", ""), response.content.decode()

    return send


class ScriptedCall:
    def __init__(self, send: Send, *, caller: str, to: str = HOTLINE, sid: str | None = None):
        self.send = send
        self.sid = sid or f"CA{next(_sids):032x}"
        self.caller, self.to = caller, to
        self.answers: list[Element] = []

    def params(self, **extra: str) -> dict:
        return {
            "AccountSid": "AC11111111111111111111111111111111",
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "CallStatus": "in-progress",
            "Called": self.to,
            "Caller": self.caller,
            "Direction": "inbound",
            "From": self.caller,
            "To": self.to,
            **extra,
        }

    def post(self, path: str, **extra: str) -> Element:
        status, content_type, body = self.send(path, self.params(**extra))
        assert status == 200, (status, body)
        assert content_type.startswith("text/xml"), content_type
        root = assert_twiml(body)
        self.answers.append(root)
        return root

    def dial(self) -> Element:
        """The call arrives: Twilio asks the number's voice URL."""
        return self.post("/hooks/twilio/voice/")

    def press(self, answer: Element, digits: str) -> Element:
        """The caller presses keys in the answer's <Gather>."""
        gather = answer.find("Gather")
        assert gather is not None, "no <Gather> to answer"
        return self.post(local_path(gather.get("action")), Digits=digits)

    def say_nothing(self, answer: Element) -> Element:
        """The <Gather> times out: Twilio goes on to the <Redirect> after it."""
        redirect = answer.find("Redirect")
        assert redirect is not None, "nothing after the <Gather>"
        return self.post(local_path(redirect.text))

    def wait(self, answer: Element, seconds: int) -> Element:
        """Twilio asks the <Enqueue>'s waitUrl while the caller waits."""
        enqueue = answer.find("Enqueue")
        assert enqueue is not None, "not put in a queue"
        return self.post(
            local_path(enqueue.get("waitUrl")),
            QueueTime=str(seconds),
            QueueSid="QU0000",
            CurrentQueueSize="1",
            QueuePosition="1",
        )

    def leave_queue(self, answer: Element, result: str = "leave") -> Element:
        """The <Enqueue> ends (a <Leave/>, say): Twilio asks its action."""
        enqueue = answer.find("Enqueue")
        assert enqueue is not None
        return self.post(local_path(enqueue.get("action")), QueueResult=result, QueueTime="130")

    def record(self, answer: Element, seconds: int = 12) -> Element:
        record = answer.find("Record")
        assert record is not None, "not offered voicemail"
        return self.post(
            local_path(record.get("action")),
            RecordingSid="RE0123456789abcdef0123456789abcdef",
            RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE0123",
            RecordingDuration=str(seconds),
        )

    def redirected(self, url: str) -> Element:
        """The platform redirected the live call (REST): Twilio asks the new URL."""
        return self.post(local_path(url))

    def operator_answers(self, dial_answer: Element) -> Element:
        """The operator's phone picks up: Twilio asks the <Number>'s url, for that leg."""
        number = dial_answer.find("Dial/Number")
        assert number is not None
        self.operator_sid = f"CA{next(_sids):032x}"
        return self._operator_leg(local_path(number.get("url")))

    def operator_presses(self, whisper: Element, digits: str) -> Element:
        """The operator presses keys in the whisper's <Gather> (the operator's leg)."""
        gather = whisper.find("Gather")
        assert gather is not None, "the operator is not asked to accept"
        return self._operator_leg(local_path(gather.get("action")), Digits=digits)

    def _operator_leg(self, path: str, **extra: str) -> Element:
        # No ParentCallSid: the operator's steps know the caller's call from their own URL.
        params = {**self.params(), "CallSid": self.operator_sid}
        status, _, body = self.send(path, {**params, "Direction": "outbound-dial", **extra})
        assert status == 200, body
        return assert_twiml(body)

    def dial_ends(self, dial_answer: Element, status: str) -> Element:
        """The <Dial> to the operator ends: Twilio asks its action, on the caller's leg."""
        dial = dial_answer.find("Dial")
        assert dial is not None
        return self.post(local_path(dial.get("action")), DialCallStatus=status)

    def hang_up(self, status: str = "completed") -> None:
        code, _, body = self.send(
            "/hooks/twilio/status/", self.params(CallStatus=status, CallDuration="42")
        )
        assert code == 200, body
        assert_twiml(body)


def spoken(root: Element) -> str:
    return " ".join((say.text or "") for say in root.iter("Say"))
