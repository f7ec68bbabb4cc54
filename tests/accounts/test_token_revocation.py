"""Tokens end when they should: a refresh token is spent on use (rotated, the old one refused),
logout ends it, and a password change or a deactivation ends every token and open socket of that
user at once. The check costs no database query: a per-user version in the shared cache."""

import pytest
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.asgi import application
from backend.core.tickets import ws_ticket_issue
from tests import factories as f
from tests.conftest import api, run_bounded

from .conftest import bearer, sign_in

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "river-lantern-97"


def tokens(user) -> dict:
    answer = sign_in(user.username, "pw")
    assert answer.status_code == 200, answer.content
    return answer.json()


def refresh(token: str):
    return api().post("/api/v1/auth/token/refresh/", {"refresh": token}, format="json")


def test_a_refresh_token_is_rotated_and_the_old_one_refused(family):
    first = tokens(family)["refresh"]

    rotated = refresh(first)
    again = refresh(first)

    assert rotated.status_code == 200 and rotated.json()["refresh"] != first
    assert again.status_code == 401
    assert refresh(rotated.json()["refresh"]).status_code == 200


def test_logout_ends_the_refresh_token(family):
    pair = tokens(family)

    out = bearer(pair["access"]).post("/api/v1/auth/logout/", {"refresh": pair["refresh"]})

    assert out.status_code == 204
    assert refresh(pair["refresh"]).status_code == 401


def test_a_password_change_ends_every_token_at_once(family):
    pair, other_phone = tokens(family), tokens(family)

    changed = bearer(pair["access"]).post(
        "/api/v1/me/password/",
        {"old_password": "pw", "new_password": NEW_PASSWORD},
        format="json",
    )

    assert changed.status_code == 204
    assert bearer(other_phone["access"]).get("/api/v1/me/").status_code == 401
    assert bearer(pair["access"]).get("/api/v1/me/").status_code == 401
    assert refresh(other_phone["refresh"]).status_code == 401
    assert sign_in(family.username, NEW_PASSWORD).status_code == 200


def test_a_wrong_old_password_changes_nothing(family):
    pair = tokens(family)

    answer = bearer(pair["access"]).post(
        "/api/v1/me/password/",
        {"old_password": "not-it", "new_password": NEW_PASSWORD},
        format="json",
    )

    assert answer.status_code == 400
    assert "old_password" in answer.json()["error"]["fields"]
    assert bearer(pair["access"]).get("/api/v1/me/").status_code == 200


def test_a_district_administrator_deactivates_an_account_and_its_tokens_end(district, make_worker):
    worker = make_worker()
    admin = f.UserFactory(role="district_admin", district=district)
    pair = tokens(worker.user)

    answer = api(admin).post(f"/api/v1/users/{worker.user.pk}/deactivate/")

    assert answer.status_code == 200
    assert bearer(pair["access"]).get("/api/v1/me/").status_code == 401
    assert refresh(pair["refresh"]).status_code == 401
    assert sign_in(worker.user.username, "pw").status_code == 401


def test_checking_the_token_version_costs_no_query(family):
    access = tokens(family)["access"]
    client = bearer(access)
    client.get("/api/v1/me/")  # the version is in the cache from here on

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/me/").status_code == 200

    user_reads = [q["sql"] for q in queries if "accounts_user" in q["sql"]]
    assert len(user_reads) == 1  # the user row itself, nothing more


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(30)
def test_open_sockets_close_when_the_password_changes(catalogue):
    user = f.UserFactory(role="family")
    ticket = ws_ticket_issue(user=user)
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]

    async def scenario():
        socket = WebsocketCommunicator(application, f"/ws/?ticket={ticket.token}", headers=headers)
        connected, _ = await socket.connect()
        assert connected
        await socket.receive_json_from()  # hello
        from asgiref.sync import sync_to_async

        await sync_to_async(
            lambda: api(user).post(
                "/api/v1/me/password/",
                {"old_password": "pw", "new_password": NEW_PASSWORD},
                format="json",
            )
        )()
        closed = await socket.receive_output(timeout=5)
        await socket.disconnect()
        return closed

    closed = run_bounded(scenario())

    assert closed == {"type": "websocket.close", "code": 4401}


def test_a_password_set_in_the_admin_ends_the_users_tokens(district, make_worker):
    from tests.conftest import admin_login

    worker = make_worker()
    admin = f.UserFactory(role="district_admin", district=district, is_staff=True)
    pair = tokens(worker.user)

    answer = admin_login(admin).post(
        f"/admin/accounts/user/{worker.user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert answer.status_code == 302, answer.content[:2000]
    assert bearer(pair["access"]).get("/api/v1/me/").status_code == 401
    assert refresh(pair["refresh"]).status_code == 401
