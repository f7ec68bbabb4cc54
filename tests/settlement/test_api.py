"""The settlement API: who sets entitlements and issues statements, who reads them, and the
exports (BOM, escaped formulas, masked names, the access log)."""

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from backend.accounts.models import Role
from backend.core.models import Event
from elders.models import AccessLog
from settlement.models import Entitlement
from settlement.payers import Payer
from settlement.services import statement_issue
from tests import factories as f
from tests.conftest import api

from .world import MONTH, World, at

pytestmark = pytest.mark.django_db


def test_a_district_admin_sets_an_entitlement_and_the_old_one_is_kept_as_history():
    w = World()
    elder = w.elder(categories=["low_income"])
    client = api(w.admin)
    url = f"/api/v1/elders/{elder.pk}/entitlements/"
    body = {"payer": "district_subsidy", "unit": "amount", "monthly": "200.00"}

    first = client.post(url, {**body, "valid_from": "2025-03-01"}, format="json")
    second = client.post(
        url, {**body, "monthly": "300.00", "valid_from": "2025-05-01"}, format="json"
    )

    assert (first.status_code, second.status_code) == (201, 201)
    history = client.get(url).json()
    assert [(e["monthly"], e["valid_from"], e["valid_to"]) for e in history] == [
        ("300.00", "2025-05-01", None),
        ("200.00", "2025-03-01", "2025-04-30"),
    ]
    assert Event.objects.filter(kind="entitlement.set", subject_id=elder.pk).count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"payer": "elder", "unit": "amount", "monthly": "1", "valid_from": "2025-03-01"}, "payer"),
        (
            {
                "payer": "age_allowance",
                "unit": "amount",
                "monthly": "1",
                "valid_from": "2025-03-01",
            },
            "payer",
        ),
        (
            {
                "payer": "district_subsidy",
                "unit": "days",
                "monthly": "1",
                "valid_from": "2025-03-01",
            },
            "unit",
        ),
        (
            {
                "payer": "district_subsidy",
                "unit": "amount",
                "monthly": "-1",
                "valid_from": "2025-03-01",
            },
            "monthly",
        ),
    ],
)
def test_a_bad_entitlement_is_a_400_naming_the_field(body, field):
    w = World()
    elder = w.elder(categories=["low_income"])  # not of advanced age: no allowance

    response = api(w.admin).post(f"/api/v1/elders/{elder.pk}/entitlements/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Entitlement.objects.exists()


def test_a_settled_month_takes_no_new_entitlement():
    w = World()
    elder = w.elder(care_level=3)
    statement_issue(actor=w.admin, provider=w.provider, month=MONTH)
    body = {"payer": "ltc_insurance", "unit": "hours", "monthly": "8", "valid_from": "2025-03-15"}

    response = api(w.admin).post(f"/api/v1/elders/{elder.pk}/entitlements/", body, format="json")

    assert response.status_code == 400
    assert "valid_from" in response.json()["error"]["fields"]


def test_a_provider_admin_reads_their_statement_but_may_not_issue_one():
    w = World()
    statement = statement_issue(actor=w.admin, provider=w.provider, month=MONTH)
    other = f.ProviderFactory(district=w.district)
    theirs = statement_issue(actor=w.admin, provider=other, month=MONTH)
    client = api(w.provider_admin)

    listed = client.get(f"/api/v1/providers/{w.provider.pk}/statements/").json()
    issue = client.post(
        f"/api/v1/providers/{w.provider.pk}/statements/", {"month": "2025-04"}, format="json"
    )

    assert [row["id"] for row in listed] == [statement.pk]
    assert issue.status_code == 403
    assert client.get(f"/api/v1/statements/{theirs.pk}/csv/").status_code == 404


def test_a_district_admin_issues_a_statement_and_sees_the_held_visits():
    w = World()
    elder = w.elder()
    w.visit(elder, at(2))
    held = w.visit(elder, at(3), exception="pending")
    client = api(w.admin)

    issued = client.post(
        f"/api/v1/providers/{w.provider.pk}/statements/", {"month": "2025-03"}, format="json"
    )
    bad = client.post(
        f"/api/v1/providers/{w.provider.pk}/statements/", {"month": "March"}, format="json"
    )

    assert issued.status_code == 201, issued.content
    assert (issued.json()["total"], issued.json()["elder"], issued.json()["held"]) == (
        "30.00",
        "30.00",
        1,
    )
    detail = client.get(f"/api/v1/statements/{issued.json()['id']}/").json()
    assert [v["id"] for v in detail["held_visits"]] == [held.pk]
    assert bad.status_code == 400 and "month" in bad.json()["error"]["fields"]


def test_the_csv_starts_with_a_bom_escapes_formulas_masks_names_and_is_access_logged():
    w = World()
    sly = w.elder("=HYPERLINK(1)", categories=["low_income"])
    w.entitle(sly, Payer.DISTRICT_SUBSIDY, "amount", "10.00")
    w.visit(sly, at(2))
    statement = statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    staff = api(w.admin).get(f"/api/v1/statements/{statement.pk}/csv/")
    provider = api(w.provider_admin).get(f"/api/v1/statements/{statement.pk}/csv/")

    text = b"".join(staff.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = [line.split(",") for line in text.lstrip("\ufeff").splitlines()]
    assert rows[1][2] == "'=HYPERLINK(1)"  # shown as text, never run
    assert rows[1][7:] == ["30.00", "0.00", "10.00", "0.00", "20.00"]
    assert rows[-1][7:] == ["30.00", "0.00", "10.00", "0.00", "20.00"]  # the totals
    their_text = b"".join(provider.streaming_content).decode("utf-8")
    assert "HYPERLINK" not in their_text  # no grant to the elder's file: masked
    assert their_text.splitlines()[1].split(",")[2] == "'=" + "*" * 12
    logged = AccessLog.objects.filter(elder=sly, field="settlement")
    assert sorted(logged.values_list("user__role", flat=True)) == [
        Role.DISTRICT_ADMIN,
        Role.PROVIDER_ADMIN,
    ]


def test_the_xlsx_has_the_lines_and_totals_as_numbers():
    w = World()
    elder = w.elder("王芳")
    w.visit(elder, at(2), minutes=30, price="30.01", unit="hour")
    statement = statement_issue(actor=w.admin, provider=w.provider, month=MONTH)

    response = api(w.admin).get(f"/api/v1/statements/{statement.pk}/xlsx/")

    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][2] == "王芳"
    assert Decimal(str(rows[1][7])) == Decimal("15.01")
    assert Decimal(str(rows[-1][7])) == statement.total == Decimal("15.01")
