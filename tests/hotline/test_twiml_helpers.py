"""The shared webhook test helpers check what they claim: a helper that accepts anything would
let every TwiML test pass."""

import pytest
from django.test import override_settings

from backend.telephony import twilio_backend
from backend.telephony.speech import say
from tests.hotline.twiml import assert_twiml, local_path, twilio_signature


def test_the_builders_answers_are_twiml():
    response = twilio_backend.voice_response()
    gather = response.gather(num_digits=1, action="https://anxin.test/hooks/twilio/gather/")
    say(gather, "Press 1", "en")
    response.enqueue("district-1", wait_url="https://anxin.test/hooks/twilio/queue/")
    dial = response.dial()
    dial.number("+8613800000000")
    response.leave()
    response.record(max_length=60)
    response.hangup()
    message = twilio_backend.messaging_response()
    message.message("Thank you")

    root = assert_twiml(str(response))
    assert [child.tag for child in root] == [
        "Gather",
        "Enqueue",
        "Dial",
        "Leave",
        "Record",
        "Hangup",
    ]
    assert assert_twiml(str(message))[0].tag == "Message"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "<Response><Say>unclosed</Response>",
        "<html><body>Server Error</body></html>",
        "<Response><Speak>hello</Speak></Response>",
        "<Response><Number>+8613800000000</Number></Response>",
        "<Response><Gather><Dial>+8613800000000</Dial></Gather></Response>",
        "<Response>stray text<Hangup/></Response>",
        "<Response><Message><Say>hi</Say></Message></Response>",
        '<Response><Gather action="None"/></Response>',
    ],
)
def test_anything_else_fails(text):
    with pytest.raises(AssertionError):
        assert_twiml(text)


@override_settings(TWILIO_AUTH_TOKEN="12345")
def test_the_signature_is_twilios_published_example():
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"

    assert twilio_signature(url, params) == "GvWf1cFY/Q7PnoempGyD5oXAezc="
    assert twilio_backend.signature_is_valid(url, params, twilio_signature(url, params))


def test_repeated_parameters_are_signed_as_twilio_checks_them():
    from django.http import QueryDict

    params = QueryDict("b=2&a=x&b=1", mutable=True)
    url = "https://anxin.test/hooks/twilio/sms/"

    assert twilio_backend.signature_is_valid(url, params, twilio_signature(url, params))
    assert twilio_signature(url, params) == twilio_signature(url, {"a": "x", "b": ["1", "2"]})


def test_next_urls_must_be_on_the_public_address():
    assert local_path("https://anxin.test/hooks/twilio/queue/?d=3") == "/hooks/twilio/queue/?d=3"
    with pytest.raises(AssertionError):
        local_path("https://elsewhere.test/hooks/twilio/queue/")
