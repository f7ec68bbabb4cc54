"""Settlement on the console (console/views/settlement.py) through Django's test client: who
sees which page (the API's roles), a statement issued from the page once however often the form
is sent, the service's refusals in words, an entitlement set through the form and shown in the
history, bad input named beside its field, and the page's downloads equal to the API's."""

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from backend.accounts.models import Role
from backend.core.days import local_today
from backend.core.models import Event
from elders.models import AccessLog
from settlement.models import Entitlement, Statement
from settlement.payers import Payer
from settlement.services import statement_issue
from tests import factories as f
from tests.conftest import admin_login, api

from .world import MONTH, World, at

pytestmark = pytest.mark.django_db

PAGE = "/console/district/settlement/"
SEARCH = "/console/district/entitlements/"
MARCH = {"month": "2025-03"}


def issue_url(provider) -> str:
    return f"/console/district/settlement/providers/{provider.pk}/issue/"


def elder_url(elder) -> str:
    return f"/console/district/elders/{elder.pk}/entitlements/"


def row(html: str, attribute: str, pk: int | str) -> str:
    """The table row with data-<attribute>="pk"."""
    found = re.search(rf'<tr data-{attribute}="{pk}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, f"no row {attribute}={pk}"
    return found.group(1)


def field_error(html: str, name: str) -> str:
    found = re.search(rf'data-field-error="{name}">([^<]*)<', html)
    assert found, f"no error beside {name}"
    return found.group(1)


@pytest.fixture
def world(english):
    return World()


def test_each_role_gets_the_pages_the_api_gives_it(world):
    elder = world.elder()
    supervisor = f.UserFactory(role=Role.SUPERVISOR, district=world.district)
    operator = f.UserFactory(role=Role.OPERATOR, district=world.district)
    admin, sup, op = (admin_login(u) for u in (world.admin, supervisor, operator))
    provider_admin = admin_login(world.provider_admin)

    assert [c.get(PAGE).status_code for c in (admin, sup, op, provider_admin)] == [
        200,
        403,
        403,
        403,
    ]
    assert [c.get(elder_url(elder)).status_code for c in (admin, sup, op)] == [200, 200, 403]
    assert [c.get(SEARCH).status_code for c in (admin, sup, op)] == [200, 200, 403]
    # Only an administrator is given the entitlement form; the district page links each to
    # what their role reads.
    assert 'name="monthly"' in admin.get(elder_url(elder)).content.decode()
    assert 'name="monthly"' not in sup.get(elder_url(elder)).content.decode()
    district_admin_page = admin.get("/console/district/").content.decode()
    district_sup_page = sup.get("/console/district/").content.decode()
    assert 'data-link="settlement"' in district_admin_page
    assert 'data-link="settlement"' not in district_sup_page
    assert 'data-link="entitlements"' in district_sup_page


def test_another_districts_provider_and_elder_are_not_found(world):
    other = World()
    admin = admin_login(world.admin)

    issued = admin.post(issue_url(other.provider), {**MARCH, "idempotency_key": "k1"})
    seen = admin.get(elder_url(other.elder()))

    assert (issued.status_code, seen.status_code) == (404, 404)
    assert not Statement.objects.exists()


def test_a_statement_is_issued_from_the_page_once_however_often_the_form_is_sent(world):
    elder = world.elder()
    world.visit(elder, at(2))
    world.visit(elder, at(3), exception="pending")
    admin = admin_login(world.admin)
    page = admin.get(PAGE, MARCH).content.decode()
    assert f'action="{issue_url(world.provider)}"' in row(page, "provider", world.provider.pk)
    form = {**MARCH, "idempotency_key": "issue-march-1"}

    first = admin.post(issue_url(world.provider), form)
    again = admin.post(issue_url(world.provider), form)  # the same form sent twice
    later = admin.post(issue_url(world.provider), {**MARCH, "idempotency_key": "issue-march-2"})

    assert first.status_code == 200
    html = first.content.decode()
    assert "is issued" in html
    cells = row(html, "provider", world.provider.pk)
    assert re.findall(r'data-figure="(\w+)">([^<]*)<', cells) == [
        ("visits", "1"),
        ("held", "1"),
        ("total", "30.00"),
        ("share", "0.00"),
        ("share", "0.00"),
        ("share", "0.00"),
        ("share", "30.00"),
    ]
    statement = Statement.objects.get()
    assert Event.objects.filter(
        kind="statement.issued", subject_id=statement.pk, actor=world.admin
    ).exists()
    assert again.status_code == 200 and "Already done" in again.content.decode()
    assert later.status_code == 409
    assert "already issued" in later.content.decode()
    assert Statement.objects.count() == 1
    assert Event.objects.filter(kind="statement.issued").count() == 1


def test_a_month_not_over_or_unreadable_is_refused_in_words(world):
    admin = admin_login(world.admin)
    this_month = f"{local_today():%Y-%m}"

    not_over = admin.post(
        issue_url(world.provider), {"month": this_month, "idempotency_key": "now"}
    )
    unreadable = admin.post(issue_url(world.provider), {"month": "March", "idempotency_key": "m"})
    shown = admin.get(PAGE, {"month": "2025-13"})

    assert not_over.status_code == 400
    assert "Only a month that is over can be settled." in not_over.content.decode()
    assert unreadable.status_code == 400
    assert "a month as YYYY-MM" in unreadable.content.decode()
    assert shown.status_code == 400
    assert "a month as YYYY-MM" in field_error(shown.content.decode(), "month")
    assert not Statement.objects.exists()


def test_an_entitlement_set_through_the_form_shows_in_the_history(world):
    elder = world.elder(categories=["low_income"])
    world.entitle(elder, Payer.DISTRICT_SUBSIDY, "amount", "200.00", since=date(2025, 1, 1))
    admin = admin_login(world.admin)
    form = {
        "payer": "district_subsidy",
        "unit": "hours",
        "monthly": "12",
        "valid_from": "2025-06-01",
        "note": "民政局 2025-17号",
        "idempotency_key": "entitle-1",
    }

    response = admin.post(elder_url(elder), form)
    again = admin.post(elder_url(elder), form)

    assert response.status_code == 200
    html = response.content.decode()
    new = Entitlement.objects.get(elder=elder, valid_from=date(2025, 6, 1))
    assert (new.unit, new.monthly, new.set_by) == ("hours", Decimal("12.00"), world.admin)
    assert "12.00" in row(html, "entitlement", new.pk) and "民政局 2025-17号" in html
    ended = Entitlement.objects.get(elder=elder, valid_from=date(2025, 1, 1))
    assert "2025-05-31" in row(html, "entitlement", ended.pk)  # ended the day before
    assert "12.00" in row(html, "payer", "district_subsidy")  # in force today
    assert Event.objects.filter(kind="entitlement.set", subject_id=elder.pk).count() == 2
    assert "Already done" in again.content.decode()
    assert Entitlement.objects.filter(elder=elder).count() == 2


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"monthly": "-5"}, "monthly", "greater than or equal to 0"),
        ({"monthly": "lots"}, "monthly", "valid number"),
        ({"valid_from": "next week"}, "valid_from", "wrong format"),
        ({"payer": "age_allowance"}, "payer", "does not qualify"),
        ({"payer": "elder"}, "payer", "not a valid choice"),
    ],
)
def test_bad_input_is_named_beside_its_field_and_nothing_is_set(world, change, field, words):
    elder = world.elder(categories=["low_income"])  # not of advanced age: no allowance
    form = {"payer": "district_subsidy", "unit": "amount", "monthly": "100"}
    form |= {"valid_from": "2025-06-01", "idempotency_key": "bad", **change}

    response = admin_login(world.admin).post(elder_url(elder), form)

    assert response.status_code == 400
    html = response.content.decode()
    assert words in field_error(html, field)
    assert f'value="{form["monthly"]}"' in html  # what was typed is kept
    assert not Entitlement.objects.exists()


def test_a_settled_month_takes_no_entitlement_and_a_supervisor_sets_none(world):
    elder = world.elder(care_level=3)
    statement_issue(actor=world.admin, provider=world.provider, month=MONTH)
    supervisor = f.UserFactory(role=Role.SUPERVISOR, district=world.district)
    form = {"payer": "ltc_insurance", "unit": "hours", "monthly": "8"}
    form |= {"valid_from": "2025-03-15", "idempotency_key": "settled"}

    settled = admin_login(world.admin).post(elder_url(elder), form)
    refused = admin_login(supervisor).post(elder_url(elder), {**form, "valid_from": "2025-06-01"})

    assert settled.status_code == 400
    assert "Statements are issued up to 2025-03" in field_error(
        settled.content.decode(), "valid_from"
    )
    assert refused.status_code == 403
    assert not Entitlement.objects.exists()


def test_the_search_finds_elders_of_the_district_by_name(world):
    mine = world.elder("李秀英")
    other = World().elder("李秀兰")

    html = admin_login(world.admin).get(SEARCH, {"q": "李秀"}).content.decode()

    assert f'href="{elder_url(mine)}"' in html
    assert f'data-elder="{other.pk}"' not in html
    refused = admin_login(world.admin).get(SEARCH, {"q": "李\x00"})
    assert refused.status_code == 400 and f'data-elder="{mine.pk}"' not in refused.content.decode()


def test_the_pages_downloads_are_the_apis_own_and_access_logged(world):
    elder = world.elder("=HYPERLINK(1)", categories=["low_income"])
    world.entitle(elder, Payer.DISTRICT_SUBSIDY, "amount", "10.00")
    world.visit(elder, at(2), minutes=30, price="30.01", unit="hour")
    statement = statement_issue(actor=world.admin, provider=world.provider, month=MONTH)
    console = admin_login(world.admin)
    cells = row(console.get(PAGE, MARCH).content.decode(), "provider", world.provider.pk)
    links = dict(re.findall(r'href="([^"]+)" download data-download="(\w+)"', cells))
    csv_url, xlsx_url = (url for url, kind in sorted(links.items(), key=lambda kv: kv[1]))

    csv_page = b"".join(console.get(csv_url).streaming_content)
    csv_api = b"".join(
        api(world.admin).get(f"/api/v1/statements/{statement.pk}/csv/").streaming_content
    )
    xlsx_page = console.get(xlsx_url)
    xlsx_api = api(world.admin).get(f"/api/v1/statements/{statement.pk}/xlsx/")

    assert csv_page == csv_api and "'=HYPERLINK(1)" in csv_page.decode("utf-8-sig")

    def rows(response):
        return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))

    assert rows(xlsx_page) == rows(xlsx_api)
    assert xlsx_page["Content-Disposition"] == xlsx_api["Content-Disposition"]
    logged = AccessLog.objects.filter(elder=elder, field="settlement", user=world.admin)
    assert logged.count() == 4  # each of the four downloads


def test_the_statements_page_reads_the_same_queries_whatever_the_number_of_providers(world):
    admin = admin_login(world.admin)

    def queries() -> int:
        for provider in (f.ProviderFactory(district=world.district) for _ in range(3)):
            statement_issue(actor=world.admin, provider=provider, month=MONTH)
        with CaptureQueriesContext(connection) as captured:
            assert admin.get(PAGE, MARCH).status_code == 200
        return len(captured)

    assert queries() == queries()  # 3 providers' statements, then 6
