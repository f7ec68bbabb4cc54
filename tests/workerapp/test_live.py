"""What the worker app's pages give its script to be live: the socket's attributes, whether the
phone shares its position (on shift or holding a job, never otherwise) and how often, and the
offers card alone for the page to refresh when an offer's event is pushed."""

import re

import pytest

from tests.conftest import api
from tests.workerapp.test_offers import order, signed_in

pytestmark = pytest.mark.django_db


def body_tag(response) -> str:
    return re.search(r"<body[^>]*>", response.content.decode(), re.S).group(0)


def test_the_page_names_the_socket_and_the_feed_cursor(make_worker):
    worker = make_worker()

    tag = body_tag(signed_in(worker.user).get("/worker/"))

    assert 'data-ticket-url="/api/v1/ws-ticket/"' in tag
    assert 'data-events-url="/api/v1/events/"' in tag
    assert 'data-events-after="' in tag  # the feed's head (empty here: nothing committed)


@pytest.mark.parametrize(
    ("shift", "jobs", "shared"),
    [("on", 0, "on"), ("off", 0, "off"), ("break", 0, "off"), ("off", 1, "on")],
)
def test_the_position_is_shared_on_shift_or_on_a_job_only(
    make_worker, settings, shift, jobs, shared
):
    settings.ANXIN = {**settings.ANXIN, "LOCATION_MIN_INTERVAL_S": 15}
    worker = make_worker(shift_state=shift)
    type(worker).objects.filter(pk=worker.pk).update(active_jobs=jobs)

    tag = body_tag(signed_in(worker.user).get("/worker/"))

    assert f'data-position="{shared}"' in tag
    assert 'data-position-interval="15"' in tag


def test_the_sign_in_page_is_not_live(client):
    tag = body_tag(client.get("/worker/sign-in/"))

    assert "data-ticket-url" not in tag


def test_the_offers_card_alone_shows_a_new_offer_until_it_is_seen(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=300)
    client = signed_in(worker.user)
    assert "offer-" not in client.get("/worker/offers/").content.decode()

    order(operator, elder, django_capture_on_commit_callbacks)
    card = client.get("/worker/offers/").content.decode()
    [opened_url] = re.findall(r'data-opened-url="([^"]+)"', card)
    seen = api(worker.user).post(opened_url)
    again = client.get("/worker/offers/").content.decode()

    assert card.lstrip().startswith('<section id="offers"') and 'data-refresh-on="offer."' in card
    assert seen.status_code == 200 and seen.json()["opened_at"]
    assert 'class="offer"' in again and "data-opened-url" not in again


def test_a_live_card_asked_for_after_sign_out_sends_the_page_to_the_sign_in(client):
    response = client.get("/worker/offers/", HTTP_HX_REQUEST="true")

    assert response.status_code == 401
    assert response["HX-Redirect"] == "/worker/sign-in/"
