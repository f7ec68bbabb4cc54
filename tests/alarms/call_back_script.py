"""Twilio's side of an operator's call-back of an alarm, for the tests: the REST API that places
the operator's call (mocked at its HTTP transport, `responses`, behind the real Twilio backend),
and each webhook request Twilio then makes, signed as Twilio signs it, to the URL the platform
gave (the placed call's Url and StatusCallback, a <Gather>'s action, the <Dial>'s action and its
<Number>'s statusCallback), every answer checked as TwiML."""

import itertools
import json
import re
from urllib.parse import parse_qs
from xml.etree.ElementTree import Element

import responses
from django.conf import settings

from tests.hotline.twiml import assert_twiml, local_path, signed_post

CREATE = re.compile(r"https://api\.twilio\.com/2010-04-01/Accounts/AC\w+/Calls\.json")
_sids = itertools.count(1)


def next_sid() -> str:
    return f"CA{next(_sids):032x}"


def twilio_places_calls(mock: responses.RequestsMock, placed: list[dict]) -> None:
    """Twilio takes every call it is asked to place: `placed` gets its form (and its SID)."""

    def answer(request):
        form = {name: values[-1] for name, values in parse_qs(request.body).items()}
        form["Sid"] = next_sid()
        placed.append(form)
        return 201, {}, json.dumps({"sid": form["Sid"], "status": "queued"})

    mock.add_callback(responses.POST, CREATE, callback=answer)


def twilio_refuses(mock: responses.RequestsMock, *, status: int, code: int) -> None:
    body = {"code": code, "message": "refused", "more_info": "", "status": status}
    mock.add(responses.POST, CREATE, status=status, json=body)


class PlacedCall:
    """The operator's call as Twilio runs it, from what the platform asked Twilio to place."""

    def __init__(self, client, placed: dict):
        self.client = client
        self.sid = placed["Sid"]
        self.url, self.status_url = placed["Url"], placed["StatusCallback"]
        self.elder_sid = next_sid()

    def _params(self, **extra: str) -> dict:
        return {
            "AccountSid": settings.TWILIO_ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "Direction": "outbound-api",
            "From": settings.TWILIO_FROM_NUMBER,
            **extra,
        }

    def _post(self, url: str, params: dict) -> Element:
        response = signed_post(self.client, local_path(url), params)
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/xml")
        return assert_twiml(response.content)

    def status(self, status: str) -> Element:
        """The operator's leg's status callback."""
        return self._post(self.status_url, self._params(CallStatus=status))

    def answer(self) -> Element:
        """The operator's phone picks up: Twilio asks the call's Url."""
        return self._post(self.url, self._params(CallStatus="in-progress"))

    def press(self, answer: Element, digits: str) -> Element:
        gather = answer.find("Gather")
        assert gather is not None, "the operator is not asked for a key"
        return self._post(gather.get("action"), self._params(Digits=digits))

    def elder(self, dial: Element, status: str) -> Element:
        """The elder's leg's status callback (the <Number>'s statusCallback)."""
        number = dial.find("Dial/Number")
        assert number is not None, "the elder is not dialled"
        params = self._params(
            CallSid=self.elder_sid,
            ParentCallSid=self.sid,
            CallStatus=status,
            Direction="outbound-dial",
        )
        return self._post(number.get("statusCallback"), params)

    def dial_ends(self, dial: Element, status: str) -> Element:
        """The <Dial> ends: Twilio asks its action, on the operator's leg."""
        action = dial.find("Dial").get("action")
        return self._post(action, self._params(DialCallStatus=status, DialCallSid=self.elder_sid))


def spoken(root: Element) -> str:
    return " ".join((say.text or "") for say in root.iter("Say"))
