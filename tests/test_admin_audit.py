"""Every change made in the admin is an audit event (who, what, which district), like a change
made through the API; access grants, the access log and the events themselves cannot be
written by hand there."""

import pytest
from django.utils import timezone

from backend.core.models import Event
from elders.models import AccessGrant, AccessLog, Consent
from tests import factories as f
from tests.conftest import admin_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(district):
    return f.UserFactory(role="district_admin", district=district, is_staff=True, is_superuser=True)


def admin_events(kind: str) -> list[Event]:
    return list(Event.objects.filter(kind=kind).order_by("pk"))


def test_a_row_added_in_the_admin_is_audited(clerk, elder):
    response = admin_login(clerk).post(
        "/admin/elders/consent/add/",
        {"elder": elder.pk, "purpose": "home care", "given_by": "elder", "given_on": "2024-01-01"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    consent = Consent.objects.get()
    [event] = admin_events("admin.added")
    assert (event.subject_type, event.subject_id) == ("elders.consent", consent.pk)
    assert event.actor == clerk and event.district_id == elder.district_id


def test_a_change_in_the_admin_is_audited_with_the_fields_it_changed_and_no_values(clerk, elder):
    consent = Consent.objects.create(
        elder=elder, purpose="home care", given_by="elder", given_on="2024-01-01"
    )

    admin_login(clerk).post(
        f"/admin/elders/consent/{consent.pk}/change/",
        {
            "elder": elder.pk,
            "purpose": "home care",
            "given_by": "elder",
            "given_on": "2024-01-01",
            "withdrawn_on": "2024-06-30",
        },
    )

    [event] = admin_events("admin.changed")
    assert (event.subject_type, event.subject_id, event.actor) == (
        "elders.consent",
        consent.pk,
        clerk,
    )
    assert event.data["changes"] == [{"changed": {"fields": ["Withdrawn on"]}}]
    assert "2024-06-30" not in str(event.data)


def test_a_row_deleted_in_the_admin_is_audited(clerk, elder):
    consent = Consent.objects.create(
        elder=elder, purpose="home care", given_by="elder", given_on="2024-01-01"
    )

    response = admin_login(clerk).post(
        f"/admin/elders/consent/{consent.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Consent.objects.exists()
    [event] = admin_events("admin.deleted")
    assert (event.subject_type, event.subject_id) == ("elders.consent", consent.pk)
    assert event.actor == clerk and event.district_id == elder.district_id


def test_rows_deleted_together_from_the_list_are_each_audited(clerk, elder):
    consents = [
        Consent.objects.create(elder=elder, purpose=p, given_by="elder", given_on="2024-01-01")
        for p in ("meals", "baths")
    ]

    admin_login(clerk).post(
        "/admin/elders/consent/",
        {
            "action": "delete_selected",
            "_selected_action": [c.pk for c in consents],
            "post": "yes",
        },
    )

    assert not Consent.objects.exists()
    assert sorted(e.subject_id for e in admin_events("admin.deleted")) == sorted(
        c.pk for c in consents
    )


def test_a_platform_wide_change_is_audited_without_a_district(clerk):
    response = admin_login(clerk).post(
        "/admin/auth/group/add/", {"name": "auditors", "permissions": []}
    )

    assert response.status_code == 302
    [event] = admin_events("admin.added")
    assert event.subject_type == "auth.group" and event.district_id is None


def test_access_grants_and_the_access_log_cannot_be_written_in_the_admin(clerk, elder):
    """Not even by a superuser: grants come from work orders, log rows from reads, events from
    the changes they record."""
    reader = f.UserFactory(role="operator", district=elder.district)
    grant = AccessGrant.objects.create(
        elder=elder,
        user=reader,
        purpose="visit",
        reference="request:1",
        expires_at=timezone.now(),
    )
    log = AccessLog.objects.create(user=reader, elder=elder, field="health", purpose="call")
    client = admin_login(clerk)

    for page in ("elders/accessgrant", "elders/accesslog", "core/event"):
        assert client.get(f"/admin/{page}/").status_code == 200  # still readable
        assert client.get(f"/admin/{page}/add/").status_code == 403, page
    for page, pk in (("elders/accessgrant", grant.pk), ("elders/accesslog", log.pk)):
        view = client.get(f"/admin/{page}/{pk}/change/")
        assert view.status_code == 200 and not view.context["has_change_permission"], page
        assert client.get(f"/admin/{page}/{pk}/delete/").status_code == 403, page
    client.post(
        f"/admin/elders/accessgrant/{grant.pk}/change/",
        {"elder": elder.pk, "user": reader.pk, "purpose": "x", "reference": "forged"},
    )
    assert AccessGrant.objects.get(pk=grant.pk).reference == "request:1"
