"""A provider admin's changes to where the organisation serves, its credit code, and its
services' prices and subsidy flags are change requests: nothing takes effect until a district
administrator of the provider's district approves. History is kept (who asked, what from what
to what, who decided, when, why), every step is an event, and a district administrator's own
edit goes through the same path as a change approved at once."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.gis.geos import MultiPolygon, Polygon

from backend.accounts.models import User
from backend.core.models import Event
from providers.models import Provider, ProviderService
from providers.selectors import providers_serving
from tests import factories as f
from tests.conftest import admin_login, api

pytestmark = pytest.mark.django_db

# The test district's boundary is the box (125.2, 43.8) - (125.45, 43.95); HOME is inside.
INSIDE = (125.30, 43.87, 125.35, 43.90)
OVER_THE_EDGE = (125.40, 43.86, 125.55, 43.90)  # half of it in the next district east
NEXT_DISTRICT = (125.50, 43.86)


def box(bounds) -> dict:
    x0, y0, x1, y1 = bounds
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@pytest.fixture
def provider(district):
    return f.ProviderFactory(district=district, credit_code=None)


@pytest.fixture
def admin(provider, provider_admin):
    return provider_admin(provider)


def kinds(provider) -> list[str]:
    return list(
        Event.objects.filter(subject_type="provider", subject_id=provider.pk)
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def test_a_new_service_area_waits_for_the_district_administrator(provider, admin, district_admin):
    far_corner = f.point(125.345, 43.895)  # in the new box, 2.5 km beyond nothing it serves now
    Provider.objects.filter(pk=provider.pk).update(
        service_area=MultiPolygon(Polygon.from_bbox((125.31, 43.88, 125.33, 43.89)), srid=4326)
    )
    assert provider not in providers_serving(point=far_corner)

    asked = api(admin).patch(
        f"/api/v1/providers/{provider.pk}/",
        {"service_area": box(INSIDE), "reason": "we opened a second kitchen"},
        format="json",
    )

    assert asked.status_code == 202
    change = asked.json()
    assert change["state"] == "pending" and change["provider"] == provider.pk
    assert change["requested_by"] == admin.username and change["reason"].startswith("we opened")
    assert change["changes"]["service_area"]["from"]["type"] == "MultiPolygon"
    assert change["changes"]["service_area"]["to"]["coordinates"][0][0][0] == [125.30, 43.87]
    assert provider not in providers_serving(point=far_corner)  # nothing took effect
    shown = api(admin).get(f"/api/v1/providers/{provider.pk}/").json()
    assert shown["service_area"] == change["changes"]["service_area"]["from"]

    queue = api(district_admin).get("/api/v1/provider-changes/?state=pending").json()["results"]
    decided = api(district_admin).post(
        f"/api/v1/provider-changes/{change['id']}/decide/",
        {"approve": True, "note": "matches the kitchen's licence"},
        format="json",
    )

    assert [c["id"] for c in queue] == [change["id"]]
    assert decided.status_code == 200
    body = decided.json()
    assert body["state"] == "approved" and body["decided_by"] == district_admin.username
    assert body["decided_at"] and body["decision_note"] == "matches the kitchen's licence"
    assert provider in providers_serving(point=far_corner)
    assert kinds(provider) == ["provider.change_requested", "provider.change_approved"]


def test_a_rejected_change_leaves_everything_as_it_was_and_says_why(
    provider, admin, district_admin
):
    asked = api(admin).patch(
        f"/api/v1/providers/{provider.pk}/", {"credit_code": "91350100M000100Y43"}, format="json"
    )
    change_id = asked.json()["id"]

    rejected = api(district_admin).post(
        f"/api/v1/provider-changes/{change_id}/decide/",
        {"approve": False, "note": "the licence names another organisation"},
        format="json",
    )
    again = api(district_admin).post(
        f"/api/v1/provider-changes/{change_id}/decide/",
        {"approve": True, "note": "changed my mind"},
        format="json",
    )

    assert asked.status_code == 202
    assert asked.json()["changes"] == {"credit_code": {"from": None, "to": "91350100M000100Y43"}}
    assert rejected.json()["state"] == "rejected"
    assert rejected.json()["decision_note"] == "the licence names another organisation"
    assert Provider.objects.get(pk=provider.pk).credit_code is None
    assert again.status_code == 409 and again.json()["error"]["current_state"] == "rejected"
    assert kinds(provider) == ["provider.change_requested", "provider.change_rejected"]


def test_prices_and_subsidy_flags_wait_for_approval(provider, admin, district_admin, district):
    asked = api(admin).post(
        f"/api/v1/providers/{provider.pk}/services/",
        {"service_code": "meal", "price": "45.00", "unit": "meal", "subsidised": True},
        format="json",
    )

    assert asked.status_code == 202
    assert asked.json()["changes"] == {
        "service:meal": {
            "from": {"price": "30.00", "unit": "visit", "subsidised": False},
            "to": {"price": "45.00", "unit": "meal", "subsidised": True},
        }
    }
    meal = ProviderService.objects.get(provider=provider, service_code="meal")
    assert (meal.price, meal.unit, meal.subsidised) == (Decimal("30.00"), "visit", False)

    api(district_admin).post(
        f"/api/v1/provider-changes/{asked.json()['id']}/decide/",
        {"approve": True, "note": "district price list 2026"},
        format="json",
    )

    meal.refresh_from_db()
    assert (meal.price, meal.unit, meal.subsidised) == (Decimal("45.00"), "meal", True)


def test_a_new_service_is_not_offered_until_approved(provider, admin, district_admin):
    ProviderService.objects.filter(provider=provider, service_code="bathing").delete()

    asked = api(admin).post(
        f"/api/v1/providers/{provider.pk}/services/",
        {"service_code": "bathing", "price": "80.00", "unit": "visit", "subsidised": True},
        format="json",
    )

    assert asked.status_code == 202
    assert asked.json()["changes"]["service:bathing"]["from"] is None
    assert provider not in providers_serving(point=f.point(*f.HOME), service_code="bathing")

    api(district_admin).post(
        f"/api/v1/provider-changes/{asked.json()['id']}/decide/",
        {"approve": True, "note": "bathing room inspected"},
        format="json",
    )

    assert provider in providers_serving(point=f.point(*f.HOME), service_code="bathing")


def test_a_service_area_beyond_the_districts_boundary_is_refused_for_anyone(
    provider, admin, district_admin
):
    over_the_edge = {"service_area": box(OVER_THE_EDGE)}

    by_provider = api(admin).patch(
        f"/api/v1/providers/{provider.pk}/", over_the_edge, format="json"
    )
    by_district = api(district_admin).patch(
        f"/api/v1/providers/{provider.pk}/", over_the_edge, format="json"
    )

    for refused in (by_provider, by_district):
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "outside_district"
        assert list(refused.json()["error"]["fields"]) == ["service_area"]
    assert api(district_admin).get("/api/v1/provider-changes/").json()["count"] == 0
    assert Provider.objects.get(pk=provider.pk).service_area is None


def test_a_new_base_or_radius_waits_for_the_district_administrator_too(provider, admin):
    """Without an area, the radius around the base is where it serves."""
    moved = api(admin).patch(
        f"/api/v1/providers/{provider.pk}/",
        {
            "base_location": {"type": "Point", "coordinates": list(NEXT_DISTRICT)},
            "service_radius_m": 50_000,
        },
        format="json",
    )

    assert moved.status_code == 202
    assert set(moved.json()["changes"]) == {"base_location", "service_radius_m"}
    unchanged = Provider.objects.get(pk=provider.pk)
    assert unchanged.service_radius_m == 20_000
    assert tuple(unchanged.base_location.coords) == pytest.approx(f.HOME)


def test_a_district_administrator_edits_directly_through_the_same_path(provider, district_admin):
    edited = api(district_admin).patch(
        f"/api/v1/providers/{provider.pk}/",
        {"credit_code": "91350100m000100y43", "reason": "licence renewed"},
        format="json",
    )
    priced = api(district_admin).post(
        f"/api/v1/providers/{provider.pk}/services/",
        {"service_code": "meal", "price": "12.00", "unit": "meal", "subsidised": True},
        format="json",
    )

    assert edited.status_code == 200 and edited.json()["credit_code"] == "91350100M000100Y43"
    assert priced.status_code == 201 and priced.json()["price"] == "12.00"
    history = api(district_admin).get(f"/api/v1/provider-changes/?provider={provider.pk}")
    rows = history.json()["results"]
    assert [(r["state"], r["requested_by"], r["decided_by"]) for r in rows] == [
        ("approved", district_admin.username, district_admin.username)
    ] * 2
    assert {key for r in rows for key in r["changes"]} == {"credit_code", "service:meal"}
    assert kinds(provider) == ["provider.change_approved"] * 2


def test_other_fields_still_change_at_once(provider, admin):
    renamed = api(admin).patch(
        f"/api/v1/providers/{provider.pk}/",
        {"name": "幸福助餐点", "contact_phone": "0431-8888 0000"},
        format="json",
    )

    assert renamed.status_code == 200 and renamed.json()["name"] == "幸福助餐点"
    assert api(admin).get("/api/v1/provider-changes/").json()["count"] == 0


def test_a_second_proposal_replaces_the_first_and_both_stay_in_the_history(
    provider, admin, district_admin
):
    first = api(admin).patch(
        f"/api/v1/providers/{provider.pk}/", {"service_radius_m": 4000}, format="json"
    )
    second = api(admin).patch(
        f"/api/v1/providers/{provider.pk}/", {"service_radius_m": 5000}, format="json"
    )

    rows = api(admin).get("/api/v1/provider-changes/").json()["results"]
    assert {(r["id"], r["state"]) for r in rows} == {
        (first.json()["id"], "superseded"),
        (second.json()["id"], "pending"),
    }
    assert second.json()["changes"]["service_radius_m"] == {"from": 20_000, "to": 5000}


def test_only_a_district_administrator_of_the_providers_district_decides(
    provider, admin, district, operator
):
    change = api(admin).patch(
        f"/api/v1/providers/{provider.pk}/", {"service_radius_m": 4000}, format="json"
    )
    url = f"/api/v1/provider-changes/{change.json()['id']}/decide/"
    decision = {"approve": True, "note": "fine"}
    elsewhere = f.UserFactory(role="district_admin")  # another district

    assert api(admin).post(url, decision, format="json").status_code == 403
    assert api(operator).post(url, decision, format="json").status_code == 403
    assert api(elsewhere).post(url, decision, format="json").status_code == 404
    assert api(elsewhere).get("/api/v1/provider-changes/").json()["count"] == 0
    assert Provider.objects.get(pk=provider.pk).service_radius_m == 20_000


def test_a_provider_admin_sees_only_their_own_organisations_changes(
    provider, admin, district, provider_admin
):
    other = f.ProviderFactory(district=district)
    api(provider_admin(other)).patch(
        f"/api/v1/providers/{other.pk}/", {"service_radius_m": 4000}, format="json"
    )
    mine = api(admin).patch(
        f"/api/v1/providers/{provider.pk}/", {"service_radius_m": 4000}, format="json"
    )

    listed = api(admin).get("/api/v1/provider-changes/").json()["results"]

    assert [c["id"] for c in listed] == [mine.json()["id"]]


def test_a_service_area_drawn_in_the_admin_is_an_approved_change(provider, district):
    staff = f.UserFactory(role="district_admin", district=district, is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="providers"))
    client = admin_login(User.objects.get(pk=staff.pk))
    form = {
        "district": district.pk,
        "name": provider.name,
        "kind": provider.kind,
        "credit_code": "",
        "contact_name": "",
        "contact_phone": "",
        "base_location": provider.base_location.ewkt,
        "service_area": MultiPolygon(Polygon.from_bbox(INSIDE), srid=4326).ewkt,
        "service_radius_m": provider.service_radius_m,
        "insurance_policy": "",
        "insurance_expires_on": "",
        "services-TOTAL_FORMS": 0,
        "services-INITIAL_FORMS": 0,
        "services-MIN_NUM_FORMS": 0,
        "services-MAX_NUM_FORMS": 1000,
    }

    response = client.post(f"/admin/providers/provider/{provider.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Provider.objects.get(pk=provider.pk).service_area is not None
    change = api(staff).get("/api/v1/provider-changes/").json()["results"]
    assert [(c["state"], list(c["changes"])) for c in change] == [("approved", ["service_area"])]


def test_an_area_over_the_edge_drawn_in_the_admin_is_a_form_error(provider, district):
    staff = f.UserFactory(role="district_admin", district=district, is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="providers"))
    form = {
        "district": district.pk,
        "name": provider.name,
        "kind": provider.kind,
        "base_location": provider.base_location.ewkt,
        "service_area": MultiPolygon(Polygon.from_bbox(OVER_THE_EDGE), srid=4326).ewkt,
        "service_radius_m": provider.service_radius_m,
        "services-TOTAL_FORMS": 0,
        "services-INITIAL_FORMS": 0,
        "services-MIN_NUM_FORMS": 0,
        "services-MAX_NUM_FORMS": 1000,
    }

    response = admin_login(User.objects.get(pk=staff.pk)).post(
        f"/admin/providers/provider/{provider.pk}/change/", form
    )

    assert response.status_code == 200
    assert "service_area" in response.context["adminform"].form.errors
    assert Provider.objects.get(pk=provider.pk).service_area is None


def test_a_change_whose_starting_point_moved_is_not_approved(provider, admin, district_admin):
    """Every write goes through the same path, so this guards against one that does not."""
    asked = api(admin).post(
        f"/api/v1/providers/{provider.pk}/services/",
        {"service_code": "meal", "price": "45.00", "unit": "meal"},
        format="json",
    )
    ProviderService.objects.filter(provider=provider, service_code="meal").update(price=35)

    approved = api(district_admin).post(
        f"/api/v1/provider-changes/{asked.json()['id']}/decide/",
        {"approve": True, "note": "ok"},
        format="json",
    )

    assert approved.status_code == 409
    assert approved.json()["error"]["code"] == "change_stale"
    assert ProviderService.objects.get(provider=provider, service_code="meal").price == 35


def test_a_new_organisation_cannot_register_to_serve_beyond_its_district(district):
    applicant = f.UserFactory(role="provider_admin")

    response = api(applicant).post(
        "/api/v1/providers/",
        {
            "name": "越界助餐点",
            "kind": "meal_point",
            "district": district.code,
            "service_area": box(OVER_THE_EDGE),
        },
        format="json",
    )

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["service_area"]
    assert not Provider.objects.filter(name="越界助餐点").exists()
