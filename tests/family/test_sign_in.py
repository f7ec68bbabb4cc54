"""Signing a family member in with a one-time SMS code, through Django's test client: a code
goes to the outbox only for a family member's number, the answer is the same for any number,
only a hash is kept, wrong, expired, used and over-tried codes are refused, and sends and tries
are limited per number and per client address."""

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from backend.telephony.models import Notification
from family import services
from family.models import SignInCode
from tests import factories as f

pytestmark = pytest.mark.django_db

SIGN_IN = "/family/sign-in/"
CODE = "/family/sign-in/code/"
NUMBER = "+8613900001111"
TYPED = "139 0000 1111"


@pytest.fixture
def member(elder):
    user = f.UserFactory(role="family", phone=NUMBER)
    f.ContactFactory(elder=elder, user=user)
    return user


def ask(client: Client, typed: str, capture, *, address: str = "10.0.0.1"):
    with capture(execute=True):
        return client.post(SIGN_IN, {"phone": typed}, REMOTE_ADDR=address)


def sent_code(outbox, to: str = NUMBER) -> str:
    texts = [m for m in outbox if m["kind"] == "sms" and m["to"] == to]
    assert len(texts) == 1
    return texts[0]["params"]["code"]


def enter(client: Client, code: str, *, address: str = "10.0.0.1"):
    return client.post(CODE, {"code": code}, REMOTE_ADDR=address)


def signed_in_as(client: Client):
    return client.session.get("_auth_user_id")


def test_a_family_number_gets_a_code_by_sms_and_only_its_hash_is_kept(
    member, outbox, django_capture_on_commit_callbacks
):
    answer = ask(Client(), TYPED, django_capture_on_commit_callbacks)

    assert answer.status_code == 302 and answer["Location"] == CODE
    code = sent_code(outbox)
    assert re.fullmatch(r"\d{6}", code)
    assert code in outbox[0]["body"]
    row = SignInCode.objects.get(user=member)
    assert code not in (row.code_hash, row.salt) and len(row.code_hash) == 64
    assert row.expires_at <= timezone.now() + services.CODE_LIFETIME
    # Nor does the message's own log keep it, once the provider has the text.
    sms = Notification.objects.get(template="sms.family_sign_in_code")
    assert sms.state == "sent" and code not in json.dumps(sms.params)


def test_an_unknown_number_gets_the_same_answer_and_no_code(
    member, outbox, django_capture_on_commit_callbacks
):
    known, unknown = Client(), Client()

    answers = [
        ask(known, TYPED, django_capture_on_commit_callbacks),
        ask(unknown, "139 0000 2222", django_capture_on_commit_callbacks),
    ]
    pages = [known.get(CODE), unknown.get(CODE)]

    assert [a.status_code for a in answers] == [302, 302]
    assert answers[0]["Location"] == answers[1]["Location"]
    texts = [p.content.decode().replace("1111", "####").replace("2222", "####") for p in pages]
    texts = [re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", t) for t in texts]
    assert texts[0] == texts[1]
    assert [m["to"] for m in outbox] == [NUMBER]


@pytest.mark.parametrize("role", ["operator", "worker", "provider_admin"])
def test_no_code_goes_to_another_roles_number(role, outbox, django_capture_on_commit_callbacks):
    f.UserFactory(role=role, phone=NUMBER)

    answer = ask(Client(), TYPED, django_capture_on_commit_callbacks)

    assert answer.status_code == 302
    assert outbox == [] and not SignInCode.objects.exists()


def test_no_code_goes_to_an_inactive_family_member(
    member, outbox, django_capture_on_commit_callbacks
):
    member.is_active = False
    member.save()

    ask(Client(), TYPED, django_capture_on_commit_callbacks)

    assert outbox == []


def test_the_code_signs_the_family_member_in_once(
    member, outbox, django_capture_on_commit_callbacks
):
    client = Client()
    ask(client, TYPED, django_capture_on_commit_callbacks)
    code = sent_code(outbox)

    answer = enter(client, code)

    assert answer.status_code == 302 and answer["Location"] == "/family/"
    assert signed_in_as(client) == str(member.pk)
    assert client.get("/family/").status_code == 200
    assert SignInCode.objects.get().ended_at is not None
    with pytest.raises(services.CodeRefused):
        services.sign_in_code_verify(phone=NUMBER, code=code, address="10.0.0.2")


def test_a_wrong_code_is_refused(english, member, outbox, django_capture_on_commit_callbacks):
    client = Client()
    ask(client, TYPED, django_capture_on_commit_callbacks)
    wrong = f"{(int(sent_code(outbox)) + 1) % 1_000_000:06d}"

    answer = enter(client, wrong)

    assert answer.status_code == 400
    assert "That code is wrong or has expired" in answer.content.decode()
    assert signed_in_as(client) is None


def test_an_expired_code_is_refused(member, outbox, django_capture_on_commit_callbacks):
    client = Client()
    ask(client, TYPED, django_capture_on_commit_callbacks)
    SignInCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    answer = enter(client, sent_code(outbox))

    assert answer.status_code == 400 and signed_in_as(client) is None


def test_a_newer_code_ends_the_older_one(member, outbox, django_capture_on_commit_callbacks):
    client = Client()
    ask(client, TYPED, django_capture_on_commit_callbacks)
    first = sent_code(outbox)
    outbox.clear()
    ask(client, TYPED, django_capture_on_commit_callbacks)
    second = sent_code(outbox)

    assert first == second or enter(client, first).status_code == 400
    assert enter(client, second).status_code == 302


def test_a_code_ends_after_its_tries_even_if_the_right_one_comes_next(
    member, outbox, django_capture_on_commit_callbacks
):
    client = Client()
    ask(client, TYPED, django_capture_on_commit_callbacks)
    code = sent_code(outbox)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    refusals = [enter(client, wrong).status_code for _ in range(services.CODE_ATTEMPTS)]

    assert refusals == [400] * services.CODE_ATTEMPTS
    assert enter(client, code).status_code == 400 and signed_in_as(client) is None


@pytest.mark.parametrize("typed", [TYPED, "139 0000 2222"])
def test_sends_are_limited_per_number_whether_or_not_it_is_registered(
    typed, member, outbox, django_capture_on_commit_callbacks
):
    allowed = services.SEND_PER_NUMBER.attempts
    answers = [
        ask(Client(), typed, django_capture_on_commit_callbacks, address=f"10.0.1.{i}").status_code
        for i in range(allowed + 1)
    ]

    assert answers == [302] * allowed + [429]
    assert len(outbox) == (allowed if typed == TYPED else 0)


def test_sends_are_limited_per_address(member, outbox, django_capture_on_commit_callbacks):
    allowed = services.SEND_PER_ADDRESS.attempts
    client = Client()
    for i in range(allowed):
        assert (
            ask(client, f"139 1000 {i:04d}", django_capture_on_commit_callbacks).status_code == 302
        )

    answer = ask(client, TYPED, django_capture_on_commit_callbacks)

    assert answer.status_code == 429 and int(answer["Retry-After"]) > 0
    assert outbox == []


def test_tries_are_limited_per_address(member, outbox, django_capture_on_commit_callbacks):
    """Guessing codes of many numbers from one address: each number has its own code and
    tries, so the address's limit is what stops it."""
    allowed = services.VERIFY_PER_ADDRESS.attempts
    for i in range(allowed):
        guesser = Client()
        guesser.post(SIGN_IN, {"phone": f"139 2000 {i:04d}"}, REMOTE_ADDR=f"10.0.5.{i}")
        assert enter(guesser, "000000", address="10.0.9.9").status_code == 400
    client = Client()
    ask(client, TYPED, django_capture_on_commit_callbacks, address="10.0.2.1")

    answer = enter(client, sent_code(outbox), address="10.0.9.9")

    assert answer.status_code == 429 and signed_in_as(client) is None
    assert enter(client, sent_code(outbox), address="10.0.2.1").status_code == 302


def test_tries_are_limited_per_number(member, outbox, django_capture_on_commit_callbacks):
    """A fresh code after each few wrong tries does not give unlimited tries on a number."""
    allowed = services.VERIFY_PER_NUMBER.attempts
    client = Client()
    for i in range(allowed):
        if i % (services.CODE_ATTEMPTS - 1) == 0:
            ask(client, TYPED, django_capture_on_commit_callbacks, address=f"10.0.3.{i}")
        enter(client, "000000", address=f"10.0.4.{i}")
    outbox.clear()
    ask(client, TYPED, django_capture_on_commit_callbacks, address="10.0.3.200")

    answer = enter(client, sent_code(outbox), address="10.0.4.200")

    assert answer.status_code == 429 and signed_in_as(client) is None


def test_a_number_that_is_not_a_phone_number_is_refused_naming_the_field():
    answer = Client().post(SIGN_IN, {"phone": "hello"})

    assert answer.status_code == 400
    assert 'id="id_phone"' in answer.content.decode() and 'class="error"' in answer.content.decode()


def test_an_empty_form_is_refused_naming_the_field():
    answer = Client().post(SIGN_IN, {})

    assert answer.status_code == 400 and 'class="error"' in answer.content.decode()


def test_the_code_page_without_a_number_goes_back_to_the_sign_in():
    assert Client().get(CODE)["Location"] == SIGN_IN
