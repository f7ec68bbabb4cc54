import itertools
import json
from urllib.parse import parse_qs

import pytest
import requests
import responses
from django.conf import settings

from backend.telephony import flows

API = "https://api.twilio.com/2010-04-01/Accounts/{sid}/{kind}.json"


class Twilio:
    """Twilio's REST API as its HTTP transport sees it (`responses` mocks `requests`): every
    request is kept; `fail_next(n)` makes the next n requests fail as a lost connection would
    (the outcome unknown), `refuse_next(code)` refuses the next one with Twilio's error."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.failures = 0
        self.refusals: list[tuple[int, int]] = []
        self._sids = itertools.count(1)
        for kind, prefix in (("Messages", "SM"), ("Calls", "CA")):
            mock.add_callback(
                responses.POST,
                API.format(sid=settings.TWILIO_ACCOUNT_SID, kind=kind),
                callback=self._answer(kind, prefix),
            )

    def _answer(self, kind, prefix):
        def answer(request):
            self.requests.append((kind, parse_qs(request.body)))
            if self.refusals:
                code, status = self.refusals.pop(0)
                body = {"code": code, "message": "refused", "status": status}
                return status, {"Content-Type": "application/json"}, json.dumps(body)
            if self.failures:
                self.failures -= 1
                raise requests.ConnectionError("read timed out")
            sid = f"{prefix}{next(self._sids):032x}"
            return 201, {"Content-Type": "application/json"}, json.dumps({"sid": sid})

        return answer

    def fail_next(self, n: int = 1) -> None:
        self.failures = n

    def refuse_next(self, code: int, status: int = 400) -> None:
        """The next request is refused with Twilio's error `code` (HTTP `status`)."""
        self.refusals.append((code, status))

    def sent(self, kind: str) -> list[dict[str, list[str]]]:
        return [params for k, params in self.requests if k == kind]


@pytest.fixture
def twilio(settings):
    """The Twilio backend over a mocked transport; nothing leaves the machine."""
    settings.NOTIFICATION_BACKEND = "backend.telephony.twilio_backend.TwilioBackend"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield Twilio(mock)


@pytest.fixture
def flow():
    """A call flow registered for the test only: records what it was told."""
    told = {"digits": [], "ended": []}

    def on_digits(notification, digits):
        told["digits"].append((notification.pk, digits))
        return "Thank you." if digits == "1" else None

    def on_ended(notification):
        told["ended"].append(notification.pk)

    flows.register_flow("test-flow", on_digits=on_digits, on_ended=on_ended)
    yield told
    flows._flows.pop("test-flow", None)
