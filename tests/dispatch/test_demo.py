"""The demo district (`manage.py seed_demo`): its accounts play together, it looks like a
real district, and `simulate` keeps all of it busy while leaving the demo accounts to people.

The district is seeded once for the module, smaller than the default (the default takes tens
of seconds), and rolled back at the end; each test runs inside it and is rolled back too. The
demo accounts' arrangement does not depend on the size: it is the default one."""

import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from backend.accounts.models import District, User
from backend.core.models import Event
from dispatch.care_plans import care_plans_generate
from dispatch.demo import elder_plans
from dispatch.models import JobOffer, OfferState, ServiceRequest
from dispatch.simulate import Pace, Simulation
from elders.assessment import gb_level
from elders.models import AbilityAssessment, AlarmDevice, CareNeed, Elder
from elders.selectors import elders_visible_to
from hotline.models import HotlineNumber
from providers.models import Provider, Worker
from tests.conftest import api

pytestmark = pytest.mark.django_db
SMALL = ["--elders", "150", "--providers", "12", "--workers", "40"]
VISITS = ["meal", "bathing", "cleaning", "medical", "escort", "companionship", "emergency"]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, "--verbosity", "0", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module", autouse=True)
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        output = seed("--if-empty", *SMALL)
        yield output
        transaction.set_rollback(True)


def family1_asks(service: str, capture) -> int:
    family1 = User.objects.get(username="family1")
    elder = elders_visible_to(family1).get()
    with capture(execute=True):
        response = api(family1).post(
            "/api/v1/requests/", {"elder": elder.pk, "service_type": service}, format="json"
        )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def ages() -> list[int]:
    today = timezone.localdate()
    return [
        today.year - b.year - ((today.month, today.day) < (b.month, b.day))
        for b in Elder.objects.values_list("birth_date", flat=True)
    ]


# The demo accounts play together ---------------------------------------------------------------


def test_family1s_meal_request_is_offered_to_worker1(django_capture_on_commit_callbacks):
    request_id = family1_asks("meal", django_capture_on_commit_callbacks)

    [offer] = JobOffer.objects.filter(request_id=request_id).select_related("worker__user")
    assert offer.worker.user.username == "worker1"
    assert offer.state == OfferState.PENDING
    listed = api(offer.worker.user).get("/api/v1/offers/").json()["results"]
    assert request_id in [o["request"] for o in listed]


def test_every_visit_family1_asks_for_is_offered_to_worker1(django_capture_on_commit_callbacks):
    offered = {}
    for service in VISITS:
        request_id = family1_asks(service, django_capture_on_commit_callbacks)
        offered[service] = set(
            JobOffer.objects.filter(request_id=request_id).values_list(
                "worker__user__username", flat=True
            )
        )

    assert {s for s, users in offered.items() if "worker1" in users} == set(VISITS)


def test_family1s_shopping_goes_to_the_provider_account_as_a_whole_job(
    django_capture_on_commit_callbacks,
):
    request_id = family1_asks("shopping", django_capture_on_commit_callbacks)

    provider = User.objects.get(username="provider")
    [offer] = api(provider).get("/api/v1/offers/").json()["results"]
    assert offer["request"] == request_id


def test_worker1_served_family1s_elder_before():
    worker1 = Worker.objects.get(user__username="worker1")
    elder = elders_visible_to(User.objects.get(username="family1")).get()

    [first] = ServiceRequest.objects.filter(elder=elder)

    assert first.state == "closed" and first.assigned_worker == worker1
    assert first.feedback.rating == 5


def test_seed_demo_prints_the_demo_accounts(demo):
    assert all(name in demo for name in ["operator", "provider", "worker1", "family1"])
    assert "anxin-demo" in demo


# It looks like a real district ---------------------------------------------------------------


def test_elders_are_60_to_100_most_of_them_in_their_sixties():
    found = ages()

    assert min(found) >= 60 and max(found) <= 100
    assert 0.4 < sum(a < 70 for a in found) / len(found) < 0.7
    assert any(a >= 85 for a in found)


def test_every_category_and_living_arrangement_is_there_in_plausible_proportions():
    elders = list(Elder.objects.values_list("categories", "living_arrangement", "birth_date"))
    share = {
        c: sum(c in cats for cats, _, _ in elders) / len(elders)
        for c in ["advanced_age", "disabled", "low_income", "extreme_poverty"]
    }
    living = {
        k: sum(arr == k for _, arr, _ in elders) / len(elders) for k in ["alone", "empty_nest"]
    }

    assert all(share.values()), share
    assert share["extreme_poverty"] <= share["low_income"] < share["advanced_age"] < 0.35
    assert 0.03 < living["alone"] < living["empty_nest"] < 0.6, living
    assert set(
        Elder.objects.filter(categories__contains=["extreme_poverty"]).values_list(
            "living_arrangement", flat=True
        )
    ) == {"alone"}


def test_assessments_set_each_assessed_elders_care_level():
    assessed = Elder.objects.annotate(n=Count("assessments")).filter(n__gt=0)

    assert assessed.count() > 0.5 * Elder.objects.count()
    for elder in assessed:
        latest = elder.assessments.first()
        assert elder.care_level == latest.level == gb_level(latest.total)
        assert latest.barthel_total is not None
        assert ("disabled" in elder.categories) == (elder.care_level >= 2)
    levels = set(AbilityAssessment.objects.values_list("level", flat=True))
    assert {0, 1, 2, 3} <= levels


def test_care_plans_make_daily_meals_and_weekly_welfare_checks_for_everyone_alone():
    alone = set(Elder.objects.filter(living_arrangement="alone").values_list("pk", flat=True))
    meals = CareNeed.objects.filter(service_code="meal")
    checks = CareNeed.objects.filter(service_code="welfare_check")

    made = care_plans_generate(horizon=timedelta(days=7))

    assert meals.exists() and all(n.rrule.startswith("FREQ=DAILY") for n in meals)
    assert set(checks.values_list("elder_id", flat=True)) == alone
    assert all(n.rrule.startswith("FREQ=WEEKLY") for n in checks)
    scheduled = ServiceRequest.objects.filter(channel="scheduled")
    assert made == scheduled.count()
    assert set(scheduled.values_list("service_type__code", flat=True)) == {"meal", "welfare_check"}
    assert scheduled.filter(care_need__in=checks).count() >= checks.count()


def test_alarm_devices_are_registered_on_some_elders():
    devices = AlarmDevice.objects.all()
    with_one = devices.values("elder").distinct().count()

    assert 0.05 < with_one / Elder.objects.count() < 0.6
    assert "button" in set(devices.values_list("kind", flat=True))
    alone = Elder.objects.filter(living_arrangement="alone")
    assert alone.filter(devices__isnull=False).distinct().count() > 0.5 * alone.count()


def test_seeded_rows_leave_the_same_audit_rows_as_real_ones():
    kinds = dict(Event.objects.values_list("kind").annotate(n=Count("pk")))

    assert kinds["elder.created"] == Elder.objects.count()
    assert kinds["elder.assessed"] == AbilityAssessment.objects.count()
    assert kinds["elder.careneed_added"] == CareNeed.objects.count()
    assert kinds["elder.alarmdevice_added"] == AlarmDevice.objects.count()
    assert kinds["provider.active"] == Provider.objects.count()
    assert kinds["provider.worker_added"] == Worker.objects.count()


def test_the_same_seed_draws_the_same_district():
    def drawn(seed: int) -> list:
        return [
            (p.fields, p.assessment, p.contacts, p.care_needs, [d["serial"] for d in p.devices])
            for p in elder_plans(random.Random(seed), 60)
        ]

    assert drawn(7) == drawn(7)
    assert drawn(7) != drawn(8)


def test_seed_demo_if_empty_twice_does_not_duplicate():
    models = [District, User, Elder, CareNeed, AlarmDevice, Provider, Worker, ServiceRequest]
    before = {m.__name__: m.objects.count() for m in models}

    output = seed("--if-empty", *SMALL)

    assert "nothing to do" in output
    assert {m.__name__: m.objects.count() for m in models} == before


def test_the_demo_hotline_rings_in_the_district_and_its_operator_has_a_phone():
    district = District.objects.get(code="220104000000")

    assert HotlineNumber.objects.get(number="+8643112349").district == district
    assert str(User.objects.get(username="operator").phone) == "+8613900012349"


def test_a_demo_seeded_before_the_hotline_gets_it_from_seed_demo_if_empty():
    HotlineNumber.objects.all().delete()
    User.objects.filter(username="operator").update(phone="")

    seed("--if-empty", *SMALL)

    assert HotlineNumber.objects.filter(number="+8643112349").exists()
    assert str(User.objects.get(username="operator").phone) == "+8613900012349"


# simulate --------------------------------------------------------------------------------------


def run(sim: Simulation, ticks: int, capture) -> None:
    for _ in range(ticks):
        with capture(execute=True):
            sim.tick()


QUICK = Pace(answer=0, set_out=0, arrive=0, serve=0, follow_up=0, take_alert=0)


def test_simulate_brings_needs_from_many_elders_and_many_workers_answer(
    django_capture_on_commit_callbacks,
):
    sim = Simulation(rate_per_min=600, seed=1, say=lambda line: None, pace=QUICK)

    run(sim, 5, django_capture_on_commit_callbacks)

    asked = ServiceRequest.objects.filter(channel="operator")
    assert asked.values("elder").distinct().count() >= 30
    accepted = JobOffer.objects.filter(state=OfferState.ACCEPTED, worker__isnull=False)
    assert accepted.values("worker").distinct().count() >= 8
    assert asked.filter(state__in=["completed", "closed"]).exists()


def test_simulate_leaves_the_demo_accounts_to_people(django_capture_on_commit_callbacks):
    request_id = family1_asks("meal", django_capture_on_commit_callbacks)
    elder_1 = ServiceRequest.objects.get(pk=request_id).elder_id
    sim = Simulation(rate_per_min=600, seed=2, say=lambda line: None, pace=QUICK)

    run(sim, 3, django_capture_on_commit_callbacks)

    offer = JobOffer.objects.get(request_id=request_id)
    assert offer.worker.user.username == "worker1" and offer.state == OfferState.PENDING
    assert not ServiceRequest.objects.filter(channel="operator", elder_id=elder_1).exists()
    others = JobOffer.objects.filter(worker__user__username="worker1").exclude(
        request__channel="family"
    )
    assert others.exists()  # the neighbours' needs reach worker1 too
    assert not others.filter(state__in=["accepted", "declined"]).exists()


def test_the_demo_district_administrator_runs_its_district_in_the_admin_and_is_no_superuser():
    from tests.conftest import admin_login

    clerk = User.objects.get(username="district")
    other = District.objects.create(code="220102000000", name="南关区")
    Elder.objects.create(
        district=other,
        full_name="外区",
        gender="male",
        address="x",
        location=Elder.objects.first().location,
    )

    page = admin_login(clerk).get("/admin/elders/elder/")

    assert clerk.is_staff and not clerk.is_superuser
    assert page.status_code == 200
    assert page.context["cl"].result_count == Elder.objects.filter(district=clerk.district).count()
