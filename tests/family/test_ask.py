"""Asking for a service on the family page: for the member's own elder only, through the API's
input serializer and intake service (channel `family`), never an emergency, once per form, and
only so many an hour (429 with Retry-After); the new request shows among upcoming visits."""

from datetime import datetime, timedelta

import pytest

from dispatch.models import ServiceRequest, ServiceType
from tests.family.conftest import SHANGHAI, form_key, signed_in

pytestmark = pytest.mark.django_db

ASK = "/family/ask/"


def tomorrow_at_ten() -> datetime:
    return (datetime.now(SHANGHAI) + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )


def ask(client, elder, *, service="cleaning", when=None, notes="钥匙在门口鞋柜", key=None):
    key = key or form_key(client.get(ASK).content.decode())
    when = tomorrow_at_ten().strftime("%Y-%m-%dT%H:%M") if when is None else when
    return client.post(
        ASK,
        {
            "elder": str(elder.pk),
            "service_type": service,
            "window_start": when,
            "notes": notes,
            "idempotency_key": key,
        },
    )


def test_the_form_offers_the_catalogue_in_chinese_but_never_emergency_help(family, elder):
    html = signed_in(family).get(ASK).content.decode()

    cleaning = ServiceType.objects.get(code="cleaning")
    assert 'value="cleaning"' in html and cleaning.name_zh in html
    assert 'value="emergency"' not in html
    assert "120" in html and "12349" in html  # where an emergency goes instead
    assert elder.full_name in html


def test_asking_makes_a_request_that_shows_among_upcoming_visits(
    family, elder, django_capture_on_commit_callbacks
):
    client = signed_in(family)

    with django_capture_on_commit_callbacks(execute=True):
        answer = ask(client, elder)

    sr = ServiceRequest.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/family/#visit-{sr.pk}"
    assert (sr.elder, sr.service_type.code, sr.channel, sr.caller) == (
        elder,
        "cleaning",
        "family",
        family,
    )
    assert sr.window_start == tomorrow_at_ten()  # the time typed is Shanghai's
    assert sr.notes == "钥匙在门口鞋柜"
    page = client.get("/family/").content.decode()
    upcoming = page[page.index('data-list="upcoming"') : page.index('data-list="past"')]
    assert f'data-request="{sr.pk}"' in upcoming


def test_another_familys_elder_is_a_404_and_nothing_is_asked(family, stranger):
    _, their_elder = stranger

    answer = ask(signed_in(family), their_elder)

    assert answer.status_code == 404
    assert not ServiceRequest.objects.exists()


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("service_type", {"service": "emergency"}),
        ("service_type", {"service": "no-such-service"}),
        ("window_start", {"when": ""}),
        ("window_start", {"when": "soon"}),
        ("window_start", {"when": "2099-01-01T10:00"}),
        ("elder", {"elder_id": "x"}),
    ],
)
def test_bad_input_is_a_400_naming_the_field(family, elder, field, values):
    client = signed_in(family)
    if "elder_id" in values:
        elder.pk = values.pop("elder_id")

    answer = ask(client, elder, **values)

    assert answer.status_code == 400
    assert f'data-field="{field}"' in answer.content.decode()
    assert not ServiceRequest.objects.exists()


def test_a_double_tap_makes_one_request(family, elder, django_capture_on_commit_callbacks):
    client = signed_in(family)
    key = form_key(client.get(ASK).content.decode())

    with django_capture_on_commit_callbacks(execute=True):
        first = ask(client, elder, key=key)
        second = ask(client, elder, key=key)

    sr = ServiceRequest.objects.get()
    assert first.status_code == second.status_code == 302
    assert second["Location"] == f"/family/#visit-{sr.pk}"


def test_too_many_asks_an_hour_are_refused_with_retry_after(
    family, elder, settings, django_capture_on_commit_callbacks
):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "requests.family": "2/hour",
        },
    }
    client = signed_in(family)

    with django_capture_on_commit_callbacks(execute=True):
        answers = [ask(client, elder, notes=f"第{n}次") for n in range(3)]

    assert [a.status_code for a in answers] == [302, 302, 429]
    assert 0 < int(answers[2]["Retry-After"]) <= 3600
    assert "error" in answers[2].content.decode()
    assert ServiceRequest.objects.count() == 2
