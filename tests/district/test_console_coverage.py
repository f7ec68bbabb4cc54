"""The console's coverage page (console/views/coverage.py) through Django's test client, on the
small district of tests/district/test_coverage.py (coverage_world.py): for supervisors and
district administrators, refused to an operator; the chart, the division table and the gap
list say what the coverage API says; a bad question is named, never a 500; the map's layer is
the grid API's cells, and no home's position is anywhere on the page; the district page's card
summarises the same answer."""

import json
import re

import pytest
from django.contrib.gis.geos import GEOSGeometry
from django.test import Client

from dispatch.models import ServiceType
from tests import factories as f
from tests.conftest import admin_login, api

from .coverage_world import DIVISION_1, DIVISION_2, build_world

pytestmark = pytest.mark.django_db

PAGE = "/console/district/coverage/"
SUMMARY = "/console/district/coverage/summary/"


@pytest.fixture
def world(db):
    return build_world()


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found, f"no figure {name}"
    return found.group(1).strip()


def division_row(html: str, code: str) -> list[str]:
    found = re.search(rf'<tr data-division="{code}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {code}"
    return [cell.strip() for cell in re.findall(r"<td>([^<]*)</td>", found.group(1))]


def listed(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-elder="(\d+)">', html)]


def test_the_page_says_what_the_api_says(world, english):
    admin = world["admin"]
    html = admin_login(admin).get(PAGE, {"service": "meal"}).content.decode()
    answer = api(admin).get("/api/v1/coverage/").json()
    meal = next(s for s in answer["services"] if s["service"] == "meal")

    assert answer["basis"] in html  # the circle in the API's own words
    assert figure(html, "in-gap") == str(meal["in_gap"]) == "2"
    assert figure(html, "elders") == str(meal["elders"]) == "5"
    assert division_row(html, DIVISION_1) == ["3", "1", "33%"]
    assert division_row(html, DIVISION_2) == ["2", "1", "50%"]
    # The chart: one bar per service type, its screen readers' table the API's counts.
    assert html.count('<rect class="bar-requests"') == len(answer["services"])
    for service in answer["services"]:
        name = ServiceType.objects.get(code=service["service"]).local_name
        assert f'<tr><th scope="row">{name}</th><td>{service["in_gap"]}</td></tr>' in html


def test_the_gap_list_is_the_apis_and_a_division_narrows_it(world):
    admin = world["admin"]
    client = admin_login(admin)
    from_api = api(admin).get("/api/v1/coverage/gaps/", {"service": "meal"}).json()

    everyone = client.get(PAGE, {"service": "meal"}).content.decode()
    narrowed = client.get(PAGE, {"service": "meal", "division": DIVISION_2}).content.decode()

    assert listed(everyone) == [row["id"] for row in from_api["results"]]
    assert listed(everyone) == [world["E2"].pk, world["E3"].pk]
    assert listed(narrowed) == [world["E3"].pk]
    assert world["E3"].address in narrowed


def test_the_gap_list_pages_as_the_api_does(world, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 2}

    html = admin_login(world["admin"]).get(PAGE, {"service": "bathing", "page": 2})
    html = html.content.decode()

    # Bathing leaves all five out (its only providers are suspended or blacklisted): by id.
    assert listed(html) == [world["E5"].pk, world["E3"].pk]
    assert 'rel="prev"' in html and 'rel="next"' in html


def test_the_map_layer_is_the_grid_apis_cells_and_no_home(world, settings):
    client = admin_login(world["admin"])
    html = client.get(PAGE, {"service": "bathing", "cell_m": "1000"}).content.decode()
    url = re.search(r'data-coverage-map data-url="([^"]+)"', html).group(1).replace("&amp;", "&")

    grid = client.get(url).json()  # the page's script fetches this, with the same session

    assert url.startswith("/api/v1/coverage/grid/?") and "service=bathing" in url
    assert grid["cell_m"] == 1000
    assert sum(cell["properties"]["in_gap"] for cell in grid["features"]) == 5
    homes = [world[name].location for name in ("E1", "E2", "E3", "E4", "E5")]
    for cell in grid["features"]:
        polygon = GEOSGeometry(json.dumps(cell["geometry"]))
        assert set(cell["properties"]) == {"in_gap"}
        assert polygon.geom_type == "Polygon"
        for x, y in polygon.coords[0]:
            assert all((round(x, 6), round(y, 6)) != (round(h.x, 6), round(h.y, 6)) for h in homes)
    for home in homes:  # nor on the page: no coordinate of a home, in any precision shown
        assert f"{home.x:.4f}" not in html and f"{home.y:.4f}" not in html


def test_a_supervisor_sees_it_and_an_operator_is_refused(world, english):
    supervisor = f.UserFactory(role="supervisor", district=world["district"])
    operator = f.UserFactory(role="operator", district=world["district"])

    assert admin_login(supervisor).get(PAGE).status_code == 200
    refused = admin_login(operator).get(PAGE)
    fragment = admin_login(operator).get(SUMMARY, headers={"HX-Request": "true"})

    assert refused.status_code == 403
    assert "for supervisors and district administrators" in refused.content.decode()
    assert fragment.status_code == 403
    assert Client().get(PAGE).status_code == 302  # signed out: to the sign-in


@pytest.mark.parametrize(
    ("asked", "field"),
    [
        ({"service": "no-such-service"}, "service"),
        ({"service": "meal", "cell_m": "50"}, "cell_m"),
        ({"service": "meal", "cell_m": "lots"}, "cell_m"),
        ({"service": "meal", "division": "12x"}, "division"),
    ],
)
def test_a_bad_question_is_named_and_the_page_still_shown(world, asked, field):
    page = admin_login(world["admin"]).get(PAGE, asked)

    assert page.status_code == 200
    html = page.content.decode()
    alert = re.search(r'<div class="notice error" role="alert">(.*?)</div>', html, re.S)
    assert alert and f"<li>{field}:" in alert.group(1)
    assert 'data-figure="in-gap"' in html


def test_a_bad_cell_size_keeps_the_service_asked(world):
    html = admin_login(world["admin"]).get(PAGE, {"service": "meal", "cell_m": "50"})

    assert 'value="meal" selected' in html.content.decode()


def test_the_district_page_links_it_and_its_card_summarises_the_api(world):
    admin = world["admin"]
    client = admin_login(admin)
    answer = api(admin).get("/api/v1/coverage/").json()

    page = client.get("/console/district/").content.decode()
    card = client.get(SUMMARY, headers={"HX-Request": "true"}).content.decode()

    assert f'hx-get="{SUMMARY}"' in page and f'href="{PAGE}"' in page
    assert figure(card, "widest-gap") == str(max(s["in_gap"] for s in answer["services"]))
    assert figure(card, "services-with-gaps") == str(
        sum(1 for s in answer["services"] if s["in_gap"])
    )
    assert answer["basis"] in card
