import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest

from backend.core.errors import StateConflict
from backend.core.models import Event
from providers.models import Provider, ProviderStatus
from providers.services import (
    certificates_expiry_notify,
    credit_event_record,
    provider_status_change,
    suspensions_expire,
)
from providers.transitions import PROVIDER_TRANSITIONS
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db

EXPECTED = {
    ("pending", "approve"): "active",
    ("pending", "blacklist"): "blacklisted",
    ("active", "suspend"): "suspended",
    ("active", "blacklist"): "blacklisted",
    ("suspended", "reinstate"): "active",
    ("suspended", "blacklist"): "blacklisted",
    ("blacklisted", "reinstate"): "active",
}


def test_the_status_table_is_what_we_wrote_down():
    assert {k: str(v) for k, v in PROVIDER_TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize(
    ("state", "event"),
    list(
        itertools.product(ProviderStatus.values, ["approve", "suspend", "reinstate", "blacklist"])
    ),
)
def test_every_status_change_is_allowed_or_refused_as_the_table_says(state, event, district):
    provider = f.ProviderFactory(district=district, status=state)
    expected = EXPECTED.get((state, event))

    if expected is None:
        with pytest.raises(StateConflict):
            provider_status_change(provider_id=provider.pk, event=event, actor=None, reason="r")
        assert Provider.objects.get(pk=provider.pk).status == state
    else:
        provider_status_change(provider_id=provider.pk, event=event, actor=None, reason="r")
        assert Provider.objects.get(pk=provider.pk).status == expected
        audit = Event.objects.get(
            subject_type="provider", subject_id=provider.pk, kind=f"provider.{expected}"
        )
        assert (audit.before, audit.after, audit.data["reason"]) == (state, expected, "r")


def test_registration_waits_for_approval_by_a_district_admin(district, district_admin):
    applicant = f.UserFactory(role="provider_admin")

    created = api(applicant).post(
        "/api/v1/providers/",
        {
            "name": "朝阳区幸福助餐点",
            "kind": "meal_point",
            "credit_code": "91350100M000100Y43",
            "district": district.code,
            "contact_phone": "0431-8888 0000",
            "base_location": {"type": "Point", "coordinates": list(f.HOME)},
        },
        format="json",
    )
    bad_code = api(applicant).post(
        "/api/v1/providers/",
        {
            "name": "x",
            "kind": "meal_point",
            "credit_code": "91350100M000100Y44",
            "district": district.code,
        },
        format="json",
    )
    pk = created.json()["id"]
    approved = api(district_admin).post(
        f"/api/v1/providers/{pk}/status/",
        {"event": "approve", "reason": "documents checked"},
        format="json",
    )
    again = api(district_admin).post(
        f"/api/v1/providers/{pk}/status/", {"event": "approve", "reason": "twice"}, format="json"
    )

    assert created.status_code == 201 and created.json()["status"] == "pending"
    assert bad_code.status_code == 400 and "credit_code" in bad_code.json()["error"]["fields"]
    assert approved.json()["status"] == "active"
    assert again.status_code == 409 and again.json()["error"]["current_state"] == "active"


def test_a_suspension_is_appealed_and_the_district_admin_lifts_it(
    district, district_admin, provider_admin
):
    provider = f.ProviderFactory(district=district)
    admin = provider_admin(provider)
    sanction = (
        api(district_admin)
        .post(
            f"/api/v1/providers/{provider.pk}/sanctions/",
            {
                "kind": "suspension",
                "reason": "three no-shows in a month",
                "until": (date.today() + timedelta(days=30)).isoformat(),
            },
            format="json",
        )
        .json()
    )
    assert Provider.objects.get(pk=provider.pk).status == "suspended"

    appeal = api(admin).post(
        f"/api/v1/sanctions/{sanction['id']}/appeal/",
        {"grounds": "two were the elder's cancellations"},
        format="json",
    )
    second = api(admin).post(
        f"/api/v1/sanctions/{sanction['id']}/appeal/", {"grounds": "again"}, format="json"
    )
    listed = api(district_admin).get("/api/v1/appeals/?state=open").json()["results"]
    decided = api(district_admin).post(
        f"/api/v1/appeals/{appeal.json()['id']}/decide/",
        {"grant": True, "note": "records confirm"},
        format="json",
    )

    assert appeal.status_code == 201 and second.status_code == 409
    assert [a["id"] for a in listed] == [appeal.json()["id"]]
    assert decided.json()["state"] == "granted"
    assert Provider.objects.get(pk=provider.pk).status == "active"


def test_a_rejected_appeal_leaves_the_blacklist_in_place(district, district_admin, provider_admin):
    provider = f.ProviderFactory(district=district)
    admin = provider_admin(provider)
    sanction = (
        api(district_admin)
        .post(
            f"/api/v1/providers/{provider.pk}/sanctions/",
            {"kind": "blacklist", "reason": "forged visit records"},
            format="json",
        )
        .json()
    )
    appeal = (
        api(admin)
        .post(f"/api/v1/sanctions/{sanction['id']}/appeal/", {"grounds": "please"}, format="json")
        .json()
    )

    api(district_admin).post(
        f"/api/v1/appeals/{appeal['id']}/decide/",
        {"grant": False, "note": "evidence stands"},
        format="json",
    )

    assert Provider.objects.get(pk=provider.pk).status == "blacklisted"


def test_only_district_admins_sanction(district, operator):
    provider = f.ProviderFactory(district=district)

    response = api(operator).post(
        f"/api/v1/providers/{provider.pk}/sanctions/",
        {"kind": "warning", "reason": "x"},
        format="json",
    )

    assert response.status_code == 403


def test_suspensions_end_by_themselves(district):
    provider = f.ProviderFactory(district=district)
    provider_status_change(
        provider_id=provider.pk,
        event="suspend",
        actor=None,
        reason="r",
        suspended_until=date.today() - timedelta(days=1),
    )

    assert suspensions_expire() == 1
    assert Provider.objects.get(pk=provider.pk).status == "active"


def test_credit_events_move_the_scores_once_each_and_within_bounds(district):
    provider = f.ProviderFactory(district=district)
    worker = f.WorkerFactory(provider=provider)

    credit_event_record(
        provider_id=provider.pk, worker_id=worker.pk, kind="no_show", reference="request:1"
    )
    duplicate = credit_event_record(
        provider_id=provider.pk, worker_id=worker.pk, kind="no_show", reference="request:1"
    )
    for i in range(15):
        credit_event_record(
            provider_id=provider.pk, kind="upheld_complaint", reference=f"complaint:{i}"
        )

    provider.refresh_from_db()
    worker.refresh_from_db()
    assert duplicate is None
    assert worker.credit_score == Decimal("95.0")
    assert provider.credit_score == Decimal("0.0")


def test_a_verified_visit_is_recorded_by_dispatch(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    with django_capture_on_commit_callbacks(execute=True):
        sr = (
            api(operator)
            .post("/api/v1/requests/", {"elder": elder.pk, "service_type": "meal"}, format="json")
            .json()["id"]
        )
    client = api(worker.user)
    client.post(f"/api/v1/offers/{worker.offers.get().pk}/accept/")
    client.post(
        f"/api/v1/requests/{sr}/check-in/",
        {"location": {"type": "Point", "coordinates": list(f.HOME)}},
        format="json",
    )
    client.post(
        f"/api/v1/requests/{sr}/check-out/",
        {"location": {"type": "Point", "coordinates": list(f.HOME)}},
        format="json",
    )

    events = list(worker.provider.credit_events.values_list("kind", "worker_id"))
    assert events == [("verified_visit", worker.pk)]


def test_providers_hear_of_expiring_certificates_once(
    district, outbox, django_capture_on_commit_callbacks
):
    provider = f.ProviderFactory(district=district, contact_phone="+8613500135000")
    worker = f.WorkerFactory(provider=provider, certificates=[])
    worker.certificates.create(
        kind="health", number="JK-1", expires_on=date.today() + timedelta(days=10)
    )
    worker.certificates.create(
        kind="first_aid", number="JJ-1", expires_on=date.today() + timedelta(days=200)
    )

    with django_capture_on_commit_callbacks(execute=True):
        first = certificates_expiry_notify()
    with django_capture_on_commit_callbacks(execute=True):
        second = certificates_expiry_notify()

    assert (first, second) == (1, 0)
    assert [(m["template"], m["to"]) for m in outbox] == [
        ("sms.certificate_expiring", "+8613500135000")
    ]
    assert "健康证" in outbox[0]["params"]["certificate"]["zh-hans"]
