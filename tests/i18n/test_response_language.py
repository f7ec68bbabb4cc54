"""The language of an answer: the user's own setting > Accept-Language > zh-hans. Error codes
never change with it; only messages do."""

from django.test import Client
from rest_framework.test import APIClient

from backend.accounts.models import User
from backend.accounts.tokens import tokens_for
from tests import factories as f

BAD_PAGE_SIZE = "/api/v1/elders/?page_size=0"


def signed_in_by_token(user: User, **headers: str) -> APIClient:
    """The app's way: a JWT (authenticated inside DRF, after every middleware has run)."""
    client = APIClient(headers=headers)
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {tokens_for(user, second_factor=False).access_token}"
    )
    return client


def test_an_answer_is_in_chinese_by_default(db):
    family = f.UserFactory(role="family")

    response = signed_in_by_token(family).get(BAD_PAGE_SIZE)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "请求中有无效字段。"
    assert error["fields"] == {"page_size": ["1 到 200 之间的整数"]}
    assert response["Content-Language"] == "zh-hans"


def test_accept_language_en_gives_english(db):
    family = f.UserFactory(role="family")

    response = signed_in_by_token(family, **{"Accept-Language": "en"}).get(BAD_PAGE_SIZE)

    error = response.json()["error"]
    assert error["message"] == "The request has invalid fields."
    assert error["fields"] == {"page_size": ["a whole number from 1 to 200"]}
    assert response["Content-Language"] == "en"


def test_a_users_own_language_wins_over_accept_language_with_a_token(db):
    family = f.UserFactory(role="family", language="en")

    response = signed_in_by_token(family, **{"Accept-Language": "zh-hans"}).get(BAD_PAGE_SIZE)

    assert response.json()["error"]["message"] == "The request has invalid fields."
    assert response["Content-Language"] == "en"


def test_a_users_own_language_wins_over_accept_language_in_a_session(db):
    family = f.UserFactory(role="family", language="en")
    browser = Client(headers={"Accept-Language": "zh-hans"})
    browser.force_login(family)

    response = browser.get(BAD_PAGE_SIZE)

    assert response.json()["error"]["message"] == "The request has invalid fields."


def test_a_users_chinese_wins_over_an_english_browser(db):
    family = f.UserFactory(role="family", language="zh-hans")

    response = signed_in_by_token(family, **{"Accept-Language": "en"}).get(BAD_PAGE_SIZE)

    assert response.json()["error"]["message"] == "请求中有无效字段。"


def test_a_refusal_from_a_service_keeps_its_code_and_translates_its_message(db):
    family = f.UserFactory(role="family")
    body = {"old_password": "not it", "new_password": "a long enough passphrase"}

    chinese = signed_in_by_token(family).post("/api/v1/me/password/", body, format="json")
    english = signed_in_by_token(family, **{"Accept-Language": "en"}).post(
        "/api/v1/me/password/", body, format="json"
    )

    assert chinese.json()["error"]["code"] == english.json()["error"]["code"] == "wrong_password"
    assert chinese.json()["error"]["message"] == "当前密码错误。"
    assert english.json()["error"]["message"] == "The current password is wrong."
    assert chinese.json()["error"]["fields"] == {"old_password": ["不是您当前的密码"]}


def test_an_unknown_api_url_answers_in_the_requests_language(db):
    assert Client().get("/api/v1/no-such-thing/").json()["error"]["message"] == "未找到。"
    english = Client(headers={"Accept-Language": "en"}).get("/api/v1/no-such-thing/")
    assert english.json()["error"]["message"] == "Not found."


def test_users_read_and_set_their_own_language(db):
    family = f.UserFactory(role="family")
    client = signed_in_by_token(family)
    assert client.get("/api/v1/me/").json()["language"] == ""

    response = client.patch("/api/v1/me/", {"language": "en"}, format="json")

    assert response.status_code == 200
    assert response.json()["language"] == "en"
    assert response["Content-Language"] == "en"  # this answer already in it
    family.refresh_from_db()
    assert family.language == "en"
    later = signed_in_by_token(family).get(BAD_PAGE_SIZE)
    assert later.json()["error"]["message"] == "The request has invalid fields."


def test_blank_gives_the_platform_language_back(db):
    family = f.UserFactory(role="family", language="en")

    response = signed_in_by_token(family).patch("/api/v1/me/", {"language": ""}, format="json")

    assert response.json()["language"] == ""
    family.refresh_from_db()
    assert family.language == ""
    later = signed_in_by_token(family).get(BAD_PAGE_SIZE)
    assert later.json()["error"]["message"] == "请求中有无效字段。"


def test_a_language_the_platform_does_not_have_is_refused_naming_the_field(db):
    family = f.UserFactory(role="family")

    response = signed_in_by_token(family).patch("/api/v1/me/", {"language": "fr"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["language"]
    family.refresh_from_db()
    assert family.language == ""
