"""What makes the family page live: each elder's visits card follows their work orders' events
and can be asked for alone; a visit under way shows its steps; a caregiver on the way shows how
far they are from their last-known position (the pushes update it; tests/dispatch/test_en_route
and the browser test follow those)."""

import re
from datetime import datetime, timedelta

import pytest

from tests import factories as f
from tests.family.conftest import SHANGHAI, request_for, signed_in

pytestmark = pytest.mark.django_db


def soon() -> datetime:
    return datetime.now(SHANGHAI).replace(microsecond=0) + timedelta(hours=2)


def test_each_elders_card_follows_request_events_and_comes_alone(family, elder, worker):
    request_for(elder, start=soon(), state="assigned", worker=worker)
    client = signed_in(family)

    page = client.get("/family/").content.decode()
    card = client.get(f"/family/elders/{elder.pk}/visits/").content.decode()

    assert f'id="visits-{elder.pk}"' in page and 'data-refresh-on="request."' in page
    assert 'id="link"' in page and 'data-ticket-url="/api/v1/ws-ticket/"' in page
    assert f'id="visits-{elder.pk}"' in card and "<html" not in card


def test_another_familys_elder_is_a_404(family, district):
    stranger = f.ElderFactory(district=district)

    response = signed_in(family).get(f"/family/elders/{stranger.pk}/visits/")

    assert response.status_code == 404


def test_a_card_asked_for_after_sign_out_sends_the_page_to_the_sign_in(client, elder):
    response = client.get(f"/family/elders/{elder.pk}/visits/", HTTP_HX_REQUEST="true")

    assert response.status_code == 401 and response["HX-Redirect"] == "/family/sign-in/"


def test_a_visit_under_way_shows_its_steps_up_to_where_it_is(family, elder, worker):
    request_for(elder, start=soon(), state="on_site", worker=worker)

    html = signed_in(family, "en").get("/family/").content.decode()

    steps = re.findall(r'<li class="step( reached)?"( aria-current="step")?>([^<]+)</li>', html)
    assert [(bool(r), bool(c), label) for r, c, label in steps] == [
        (True, False, "Finding a caregiver"),
        (True, False, "Caregiver found"),
        (True, False, "On the way"),
        (True, True, "At the door"),
        (False, False, "Done"),
    ]


def test_a_caregiver_on_the_way_shows_the_distance_from_their_last_known_position(
    family,
    elder,
    worker,
):
    sr = request_for(elder, start=soon(), state="en_route", worker=worker)
    f.place_worker(worker, f.offset(f.HOME, east_m=750))

    html = signed_in(family).get("/family/").content.decode()

    found = re.search(rf'data-distance-for="{sr.pk}"[^>]* data-distance-m="(\d+)"', html)
    assert found and 740 <= int(found.group(1)) <= 760


def test_no_distance_for_a_visit_not_on_the_way(family, elder, worker):
    request_for(elder, start=soon(), state="assigned", worker=worker)
    f.place_worker(worker, f.offset(f.HOME, east_m=750))

    html = signed_in(family).get("/family/").content.decode()

    assert "data-distance-for" not in html
