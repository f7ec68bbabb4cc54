"""Coverage of the 15-minute circle on a small district known by hand.

Homes are placed at exact geodesic distances from a provider's base (PostGIS's ST_Project on
the spheroid), so that "just inside" and "just outside" 1,250 m are a metre either side:

- P1, active, based at B, no service area (its 3 km radius), offers meal;
- P2, active, based at C (5 km east of B), its service area a square south of C, offers meal;
- P5, active, based at B, no service area and a 1,000 m radius, offers cleaning;
- P3 suspended and P4 blacklisted, both based at B, both offering bathing.

District D's active elders: E1 1,249 m north of B and E2 1,251 m north of B (division 1),
E5 at B itself (division 1), E3 500 m north of C (outside P2's square) and E4 500 m south of C
(inside it; division 2). E6, at B too, has moved away. District D2's elder E7 is at B.

So at 5 km/h for 15 minutes (1,250 m): meal leaves E2 and E3 out; bathing all five (the only
providers are suspended or blacklisted); cleaning all but E5 (P5's radius, 1,000 m, is shorter
than the circle)."""

import json

import pytest
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection

from district.coverage import coverage_gaps, reach_configured
from district.models import ProviderReach
from providers.models import Provider
from tests import factories as f
from tests.conftest import api

from .coverage_world import DIVISION_1, DIVISION_2, B, build_world, projected

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return build_world()


def _gaps(district, codes=("meal", "bathing", "cleaning")):
    coverage = coverage_gaps(
        district_id=district.pk, service_codes=list(codes), reach=reach_configured()
    )
    return {
        s.service_code: {d.division_code: (d.elders, d.in_gap) for d in s.divisions}
        for s in coverage.services
    }


def _gap_names(user, service, **params):
    response = api(user).get("/api/v1/coverage/gaps/", {"service": service, **params})
    assert response.status_code == 200, response.content
    return [row["full_name"] for row in response.json()["results"]]


def test_counts_per_service_and_division_at_walking_speed(world):
    assert _gaps(world["district"]) == {
        "meal": {DIVISION_1: (3, 1), DIVISION_2: (2, 1)},
        "bathing": {DIVISION_1: (3, 3), DIVISION_2: (2, 2)},
        "cleaning": {DIVISION_1: (3, 2), DIVISION_2: (2, 2)},
    }


def test_just_inside_is_reached_and_just_outside_is_not(world):
    assert _gap_names(world["admin"], "meal", division=DIVISION_1) == ["E2"]


def test_inside_the_radius_but_outside_the_service_area_is_a_gap(world):
    # E3 is 500 m from P2's base, but north of its square; E4, inside it, is reached.
    assert _gap_names(world["admin"], "meal", division=DIVISION_2) == ["E3"]


def test_suspended_and_blacklisted_providers_reach_nobody(world):
    assert _gap_names(world["admin"], "bathing") == ["E1", "E2", "E5", "E3", "E4"]


def test_a_provider_reaches_no_further_than_its_own_radius(world):
    assert _gap_names(world["admin"], "cleaning") == ["E1", "E2", "E3", "E4"]


def test_a_provider_not_offering_the_service_does_not_cover_it(world):
    # P1 reaches E1 and E5 but offers meal only: they are in the gap for shopping.
    assert _gaps(world["district"], ["shopping"]) == {
        "shopping": {DIVISION_1: (3, 3), DIVISION_2: (2, 2)}
    }


def test_the_speed_setting_changes_the_answer(world, settings):
    settings.ANXIN = {**settings.ANXIN, "COVERAGE_SPEED_KMH": 6.0}  # 1,500 m
    assert _gap_names(world["admin"], "meal") == ["E3"]
    settings.ANXIN = {**settings.ANXIN, "COVERAGE_SPEED_KMH": 4.0}  # 1,000 m
    assert _gap_names(world["admin"], "meal") == ["E1", "E2", "E3"]


def test_the_answer_states_speed_minutes_and_metres(world, english):
    response = api(world["admin"]).get("/api/v1/coverage/", {"service": "meal"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["speed_kmh"], body["minutes"], body["reach_m"]) == (5.0, 15, 1250)
    assert "15 minutes at 5 km/h (1250 m)" in body["basis"]
    assert body["elders"] == 5
    assert body["services"] == [
        {
            "service": "meal",
            "elders": 5,
            "in_gap": 2,
            "divisions": [
                {"division_code": DIVISION_1, "elders": 3, "in_gap": 1},
                {"division_code": DIVISION_2, "elders": 2, "in_gap": 1},
            ],
        }
    ]


def test_a_provider_moving_is_seen_without_anyone_refreshing(world):
    assert _gap_names(world["admin"], "meal", division=DIVISION_1) == ["E2"]
    # An edit behind the services' back (the admin, a script) changes the fingerprint.
    Provider.objects.filter(pk=world["P1"].pk).update(base_location=projected(B, 1251, 180))
    assert _gap_names(world["admin"], "meal", division=DIVISION_1) == ["E1", "E2", "E5"]
    pieces = ProviderReach.objects.filter(provider=world["P1"], reach_m=1250)
    assert len({piece.fingerprint for piece in pieces}) == 1


def test_pieces_are_cut_once_until_something_changes(world):
    from district.coverage import provider_reach_refresh

    assert provider_reach_refresh(reach_m=1250) == 3  # P1, P2, P5: the active ones
    assert provider_reach_refresh(reach_m=1250) == 0
    Provider.objects.filter(pk=world["P2"].pk).update(service_radius_m=2500)
    assert provider_reach_refresh(reach_m=1250) == 1


def test_grid_counts_gaps_per_cell_and_shows_no_home(world):
    response = api(world["admin"]).get("/api/v1/coverage/grid/", {"service": "bathing"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert (body["service"], body["reach_m"], body["cell_m"]) == ("bathing", 1250, 500)
    cells = [
        (GEOSGeometry(json.dumps(feature["geometry"])), feature["properties"])
        for feature in body["features"]
    ]
    assert all(set(properties) == {"in_gap"} for _, properties in cells)
    # Every gap home falls in exactly one cell, and each cell counts the homes it holds.
    homes = [world[name].location for name in ("E1", "E2", "E5", "E3", "E4")]
    for cell, properties in cells:
        assert properties["in_gap"] == sum(1 for home in homes if cell.covers(home))
        assert properties["in_gap"] >= 1
    assert sum(properties["in_gap"] for _, properties in cells) == 5
    # E2 is 1,251 m north of E5: about 500 m cells put them apart; E1 and E2 (2 m) together.
    by_home = {
        name: next(i for i, (cell, _) in enumerate(cells) if cell.covers(world[name].location))
        for name in ("E1", "E2", "E5")
    }
    assert by_home["E1"] == by_home["E2"] != by_home["E5"]
    # A cell is about 500 m a side, whatever the latitude.
    west, south, east, north = cells[0][0].extent
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Distance(ST_MakePoint(%s, %s)::geography, ST_MakePoint(%s, %s)::geography),"
            " ST_Distance(ST_MakePoint(%s, %s)::geography, ST_MakePoint(%s, %s)::geography)",
            [west, south, east, south, west, south, west, north],
        )
        across, up = cursor.fetchone()
    assert across == pytest.approx(500, rel=0.02)
    assert up == pytest.approx(500, rel=0.01)


def test_grid_meal_has_two_cells_of_one(world):
    response = api(world["admin"]).get(
        "/api/v1/coverage/grid/", {"service": "meal", "cell_m": 1000}
    )
    assert response.status_code == 200, response.content
    assert sorted(feature["properties"]["in_gap"] for feature in response.json()["features"]) == [
        1,
        1,
    ]


def test_grid_refuses_cells_small_enough_to_point_at_a_home(world):
    response = api(world["admin"]).get("/api/v1/coverage/grid/", {"service": "meal", "cell_m": 50})
    assert response.status_code == 400
    assert "cell_m" in str(response.json())


@pytest.mark.parametrize("path", ["/api/v1/coverage/gaps/", "/api/v1/coverage/grid/"])
def test_a_service_is_required_and_must_exist(world, path):
    for params in ({}, {"service": "no-such-service"}):
        response = api(world["admin"]).get(path, params)
        assert response.status_code == 400, params
        assert "service" in str(response.json())


def test_another_districts_admin_sees_only_their_own(world):
    admin2 = f.UserFactory(role="district_admin", district=world["district2"])
    # E7 is at B: P1 (of the other district) reaches it for meal; nobody offers bathing.
    assert _gap_names(admin2, "meal") == []
    assert _gap_names(admin2, "bathing") == ["E7"]
    body = api(admin2).get("/api/v1/coverage/", {"service": "bathing"}).json()
    assert body["elders"] == 1
    grid = api(admin2).get("/api/v1/coverage/grid/", {"service": "bathing"}).json()
    assert [feature["properties"]["in_gap"] for feature in grid["features"]] == [1]


def test_supervisors_may_and_operators_may_not(world):
    supervisor = f.UserFactory(role="supervisor", district=world["district"])
    operator = f.UserFactory(role="operator", district=world["district"])
    for path in ("/api/v1/coverage/", "/api/v1/coverage/gaps/", "/api/v1/coverage/grid/"):
        params = {"service": "meal"}
        assert api(supervisor).get(path, params).status_code == 200, path
        assert api(operator).get(path, params).status_code == 403, path


def test_reads_are_a_fixed_number_of_queries_whatever_the_elders(world):
    from django.test.utils import CaptureQueriesContext

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = api(world["admin"]).get(path, {"service": "meal"})
        assert response.status_code == 200
        return len(captured)

    paths = ("/api/v1/coverage/", "/api/v1/coverage/gaps/", "/api/v1/coverage/grid/")
    queries(paths[0])  # the first read cuts the pieces; the others find them current
    before = {path: queries(path) for path in paths}
    for metres in (1300, 1400, 1500):
        f.ElderFactory(district=world["district"], location=projected(B, metres, 90))
    assert {path: queries(path) for path in paths} == before
