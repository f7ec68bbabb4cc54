"""The console's district page (console/views/district.py) through Django's test client: for
supervisors and district administrators, refused to an operator; the response figures, charts
and quality drawn from the API's answers for the same question; a bad question named; another
district's figures never shown."""

import re

import pytest
from django.test import Client

from tests import factories as f
from tests.conftest import admin_login, api

from .oversight_world import S, local, rating, visit, work_order

pytestmark = pytest.mark.django_db

PAGE = "/console/district/"
JANUARY = {"from": "2026-01-01", "to": "2026-01-31", "granularity": "day"}


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found, f"no figure {name}"
    return found.group(1).strip()


@pytest.fixture
def admin(district):
    return f.UserFactory(role="district_admin", district=district)


@pytest.fixture
def january(district, elder, family):
    """Two work orders on 5 January (accepted after 60 and 120 s, one on site late), one on
    the 6th, by one provider; another district's on the 5th."""
    worker = f.WorkerFactory(provider=f.ProviderFactory(district=district, name="安康服务"))
    for at, accept_s, arrive_s in [
        (local(1, 5, 9), 60, 600),
        (local(1, 5, 10), 120, 4000),
        (local(1, 6, 9), 180, 900),
    ]:
        sr = work_order(
            elder, at, worker=worker, accepted_at=at + accept_s * S, arrived_at=at + arrive_s * S
        )
        visit(sr, worker)
        rating(sr, 4, at + 5000 * S, family)
    work_order(f.ElderFactory(district=f.DistrictFactory()), local(1, 5, 9))


def test_a_district_admin_sees_the_apis_figures(admin, january):
    html = admin_login(admin).get(PAGE, JANUARY).content.decode()
    answer = api(admin).get("/api/v1/figures/responses/", JANUARY).json()

    assert figure(html, "requests") == str(answer["total"]["requests"]) == "3"
    assert figure(html, "accept-p50") == "120.0 s"
    assert figure(html, "arrived-share") == "67%"  # two of three on site within the hour
    assert figure(html, "rating") == "4.0"


def test_the_charts_are_inline_svg_with_tables_for_screen_readers(admin, january):
    html = admin_login(admin).get(PAGE, JANUARY).content.decode()

    assert html.count('<svg class="chart-svg"') == 2
    assert html.count('<rect class="bar-requests"') == 4  # two days of requests, two of shares
    assert "<script>" not in html and "onclick" not in html
    assert '<tr><th scope="row">01-05</th><td>2</td></tr>' in html
    assert '<tr><th scope="row">01-05</th><td>50</td></tr>' in html  # share on site, %


def test_the_quality_table_and_the_providers_below(admin, january, settings):
    settings.ANXIN = {**settings.ANXIN, "QUALITY_THRESHOLD": 101}  # everyone is below

    html = admin_login(admin).get(PAGE, JANUARY).content.decode()

    assert "安康服务" in html
    assert 'data-figure="below"' in html


def test_supervisors_see_it_and_the_top_bar_links_it(district, january):
    supervisor = f.UserFactory(role="supervisor", district=district)

    page = admin_login(supervisor).get(PAGE)

    assert page.status_code == 200
    assert f'href="{PAGE}"' in page.content.decode()


def test_an_operator_is_refused_and_not_linked(operator, english):
    client = admin_login(operator)

    page = client.get(PAGE)
    home = client.get("/console/").content.decode()

    assert page.status_code == 403
    assert "for supervisors and district administrators" in page.content.decode()
    assert f'href="{PAGE}"' not in home


def test_without_the_second_factor_one_signs_in_first(admin):
    password_only = Client()
    password_only.force_login(admin)

    assert password_only.get(PAGE).status_code == 302
    assert Client().get(PAGE).status_code == 302


def test_a_bad_question_is_named_and_the_last_week_shown(admin):
    html = admin_login(admin).get(PAGE, {"granularity": "week"}).content.decode()

    assert 'role="alert"' in html and "granularity" in html
    assert figure(html, "requests") == "0"


def test_another_districts_admin_sees_none_of_it(january):
    other = f.UserFactory(role="district_admin", district=f.DistrictFactory())

    html = admin_login(other).get(PAGE, JANUARY).content.decode()

    assert figure(html, "requests") == "0"
    assert "安康服务" not in html
