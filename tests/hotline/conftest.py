import re
from urllib.parse import parse_qs

import pytest
import responses

from hotline.models import HotlineNumber
from hotline.numbers import numbers_forget
from tests.hotline.script import HOTLINE

TWILIO_CALL = re.compile(r"https://api\.twilio\.com/2010-04-01/Accounts/AC\w+/Calls/(CA\w+)\.json")


@pytest.fixture(autouse=True)
def _numbers():
    numbers_forget()
    yield
    numbers_forget()


@pytest.fixture
def hotline(district):
    return HotlineNumber.objects.create(number=HOTLINE, district=district, label="12349")


@pytest.fixture
def twilio(settings):
    """The platform talks to Twilio through the real Twilio backend; Twilio's HTTP API is
    mocked (`responses`). `twilio.redirects()` lists each live call redirected: (sid, url)."""
    settings.NOTIFICATION_BACKEND = "backend.telephony.twilio_backend.TwilioBackend"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:

        def answer(request):
            sid = TWILIO_CALL.match(request.url).group(1)
            return 200, {}, f'{{"sid": "{sid}", "status": "in-progress"}}'

        mock.add_callback(responses.POST, TWILIO_CALL, callback=answer)

        def redirects():
            return [
                (TWILIO_CALL.match(c.request.url).group(1), parse_qs(c.request.body)["Url"][0])
                for c in mock.calls
            ]

        mock.redirects = redirects
        yield mock
