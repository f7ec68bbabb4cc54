"""The webhook signature check is Twilio's own (RequestValidator): these are the known answers
Twilio publishes for its scheme, so a change of library or of how we call it cannot pass
unnoticed."""

import base64
import hashlib
import hmac

from django.test import override_settings

from backend.telephony.twilio_backend import signature_is_valid

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TOKEN = "12345"


def params(caller):
    return {
        "CallSid": "CA1234567890ABCDE",
        "Caller": caller,
        "Digits": "1234",
        "From": caller,
        "To": "+18005551212",
    }


def by_hand(url, values, token):
    """Twilio's scheme written out: the URL, then each parameter's name and value in name order,
    HMAC-SHA1 under the auth token, base64."""
    signed = url + "".join(k + values[k] for k in sorted(values))
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@override_settings(TWILIO_AUTH_TOKEN=TOKEN)
def test_the_published_examples_are_valid():
    # Twilio's security documentation and its SDK's own tests give these two.
    assert signature_is_valid(URL, params("+14158675310"), "GvWf1cFY/Q7PnoempGyD5oXAezc=")
    assert signature_is_valid(URL, params("+14158675309"), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert by_hand(URL, params("+14158675310"), TOKEN) == "GvWf1cFY/Q7PnoempGyD5oXAezc="


@override_settings(TWILIO_AUTH_TOKEN=TOKEN)
def test_any_change_to_url_parameters_or_signature_fails():
    good = "GvWf1cFY/Q7PnoempGyD5oXAezc="
    values = params("+14158675310")

    assert not signature_is_valid(URL.replace("foo=1", "foo=2"), values, good)
    assert not signature_is_valid(URL, {**values, "Digits": "1235"}, good)
    assert not signature_is_valid(URL, {**values, "Extra": "x"}, good)
    assert not signature_is_valid(URL, values, good[:-2] + "A=")
    assert not signature_is_valid(URL, values, "")


def test_no_token_configured_refuses_everything():
    values = params("+14158675310")
    with override_settings(TWILIO_AUTH_TOKEN=""):
        assert not signature_is_valid(URL, values, by_hand(URL, values, ""))
