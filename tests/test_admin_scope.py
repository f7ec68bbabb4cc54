"""The admin is inside the tenancy rules: a district administrator sees, opens and changes only
its own district's rows, is offered only its own district's rows in every choice, and cannot
make anyone a superuser; a superuser (the platform operator) keeps every district. What each
staff role may do there comes from its role, not from being a superuser."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission

from backend.accounts.models import District, User
from backend.core.models import Event
from dispatch.models import ServiceType
from elders.models import AbilityAssessment, AccessLog, Consent, Elder
from providers.models import Provider, Worker
from tests import factories as f
from tests.conftest import admin_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_district(db):
    return f.DistrictFactory(code="220102000000", name="南关区")


@pytest.fixture
def everything_allowed(district):
    """A district administrator holding every model permission there is: whatever it may do,
    it may do it only in its own district."""
    user = f.UserFactory(role="district_admin", district=district, is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    return User.objects.get(pk=user.pk)  # no cached permissions


def rows_of(district: District) -> dict[str, int]:
    """One row of each kind the admin shows, in `district`; page name -> primary key."""
    elder = f.ElderFactory(district=district)
    provider = f.ProviderFactory(district=district)
    worker = f.WorkerFactory(provider=provider)
    staff = f.UserFactory(role="operator", district=district)
    assessment = AbilityAssessment.objects.create(
        elder=elder,
        assessed_on="2024-03-01",
        assessor_name="刘评估",
        self_care=30,
        basic_motor=15,
        mental_state=28,
        perception_social=11,
        total=84,
        level=0,
        next_due="2025-03-01",
    )
    consent = Consent.objects.create(
        elder=elder, purpose="care", given_by="elder", given_on="2024-01-01"
    )
    log = AccessLog.objects.create(user=staff, elder=elder, field="health", purpose="test")
    event = Event.objects.create(
        kind="test.made", subject_type="elder", subject_id=elder.pk, district=district
    )
    return {
        "elders/elder": elder.pk,
        "elders/abilityassessment": assessment.pk,
        "elders/consent": consent.pk,
        "elders/accesslog": log.pk,
        "providers/provider": provider.pk,
        "providers/worker": worker.pk,
        "accounts/user": staff.pk,
        "accounts/user#worker": worker.user_id,
        "accounts/district": district.pk,
        "core/event": event.pk,
    }


def listed(client, page: str) -> set[int]:
    response = client.get(f"/admin/{page.split('#')[0]}/?all=")
    assert response.status_code == 200, page
    return {obj.pk for obj in response.context["cl"].result_list}


def test_a_district_admin_lists_only_its_own_districts_rows(
    everything_allowed, district, other_district
):
    mine, theirs = rows_of(district), rows_of(other_district)
    client = admin_login(everything_allowed)

    for page in mine:
        shown = listed(client, page)
        assert mine[page] in shown, page
        assert theirs[page] not in shown, f"{page} shows another district's row"


def test_another_districts_row_cannot_be_opened_changed_or_deleted(
    everything_allowed, other_district
):
    theirs = rows_of(other_district)
    client = admin_login(everything_allowed)

    for page, pk in theirs.items():
        url = f"/admin/{page.split('#')[0]}/{pk}"
        # The admin answers a row it cannot find with a redirect to its index.
        assert client.get(f"{url}/change/").status_code == 302, page
        # Not found, or (on read-only pages) refused before it is looked for.
        assert client.get(f"{url}/delete/").status_code in (302, 403), page
    client.post(f"/admin/elders/consent/{theirs['elders/consent']}/delete/", {"post": "yes"})
    assert Consent.objects.filter(pk=theirs["elders/consent"]).exists()


def test_choices_in_forms_offer_only_the_own_districts_rows(
    everything_allowed, district, other_district
):
    mine, theirs = rows_of(district), rows_of(other_district)
    client = admin_login(everything_allowed)

    elder_form = client.get("/admin/elders/elder/add/").context["adminform"].form
    provider_form = (
        client.get(f"/admin/providers/provider/{mine['providers/provider']}/change/")
        .context["adminform"]
        .form
    )
    worker_form = (
        client.get(f"/admin/providers/worker/{mine['providers/worker']}/change/")
        .context["adminform"]
        .form
    )

    assert list(elder_form.fields["district"].queryset) == [district]
    assert list(provider_form.fields["district"].queryset) == [district]
    assert theirs["accounts/user"] not in {u.pk for u in provider_form.fields["admins"].queryset}
    assert mine["accounts/user"] in {u.pk for u in provider_form.fields["admins"].queryset}
    assert set(worker_form.fields["provider"].queryset) == {
        Provider.objects.get(pk=mine["providers/provider"])
    }
    assert theirs["accounts/user#worker"] not in {u.pk for u in worker_form.fields["user"].queryset}


def test_a_worker_cannot_be_moved_into_another_districts_provider(
    everything_allowed, district, other_district
):
    worker = f.WorkerFactory(provider=f.ProviderFactory(district=district))
    theirs = f.ProviderFactory(district=other_district)
    client = admin_login(everything_allowed)
    from tests.test_admin_rules import worker_form

    response = client.post(
        f"/admin/providers/worker/{worker.pk}/change/", worker_form(worker, provider=theirs.pk)
    )

    assert response.status_code == 200
    assert "provider" in response.context["adminform"].form.errors
    assert Worker.objects.get(pk=worker.pk).provider_id == worker.provider_id


def user_form(user: User, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "date_joined_0": "2024-01-01",
        "date_joined_1": "08:00:00",
        "role": user.role,
        "district": user.district_id or "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_a_district_admin_cannot_make_anyone_a_superuser_or_hand_out_permissions(
    everything_allowed, district
):
    colleague = f.UserFactory(role="operator", district=district)
    every_permission = list(Permission.objects.values_list("pk", flat=True))
    client = admin_login(everything_allowed)

    client.post(
        f"/admin/accounts/user/{colleague.pk}/change/",
        user_form(colleague, is_staff="on", is_superuser="on", user_permissions=every_permission),
    )
    client.post(
        f"/admin/accounts/user/{everything_allowed.pk}/change/",
        user_form(everything_allowed, is_staff="on", is_superuser="on"),
    )

    colleague.refresh_from_db()
    everything_allowed.refresh_from_db()
    assert not colleague.is_superuser and not everything_allowed.is_superuser
    assert not colleague.user_permissions.exists()


def test_a_district_admin_does_not_see_the_platforms_superusers(everything_allowed, district):
    platform = f.UserFactory(
        role="district_admin", district=district, is_staff=True, is_superuser=True
    )

    shown = listed(admin_login(everything_allowed), "accounts/user")

    assert platform.pk not in shown


def test_a_superuser_sees_every_district(district, other_district):
    mine, theirs = rows_of(district), rows_of(other_district)
    platform = f.UserFactory(
        role="district_admin", district=district, is_staff=True, is_superuser=True
    )
    client = admin_login(platform)

    for page in mine:
        assert {mine[page], theirs[page]} <= listed(client, page), page


def test_a_district_administrator_runs_its_district_without_being_a_superuser(district):
    """The role alone gives the model permissions: no superuser, no hand-made permissions."""
    clerk = f.UserFactory(role="district_admin", district=district, is_staff=True)
    elder = f.ElderFactory(district=district)
    meal = ServiceType.objects.get(code="meal")
    client = admin_login(clerk)

    assert client.get("/admin/").status_code == 200
    assert listed(client, "elders/elder") == {elder.pk}
    assert client.get("/admin/elders/elder/add/").status_code == 200
    assert client.get(f"/admin/elders/elder/{elder.pk}/change/").status_code == 200
    # The catalogue serves every district: one district's administrator only reads it.
    page = client.get(f"/admin/dispatch/servicetype/{meal.pk}/change/")
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert client.get("/admin/accounts/district/add/").status_code == 403


def test_a_supervisor_reads_the_admin_and_changes_nothing(district):
    supervisor = f.UserFactory(role="supervisor", district=district, is_staff=True)
    elder = f.ElderFactory(district=district)
    client = admin_login(supervisor)

    assert listed(client, "elders/elder") == {elder.pk}
    assert client.get("/admin/elders/elder/add/").status_code == 403
    page = client.get(f"/admin/elders/elder/{elder.pk}/change/")
    assert page.status_code == 200 and not page.context["has_change_permission"]


@pytest.mark.parametrize("role", ["operator", "provider_admin", "worker", "family"])
def test_other_roles_get_nothing_in_the_admin_even_if_marked_staff(role, district):
    user = f.UserFactory(role=role, is_staff=True)
    f.ElderFactory(district=district)

    assert admin_login(user).get("/admin/elders/elder/").status_code == 403


def test_every_admin_page_declares_its_district_scope():
    """A page added later cannot forget the scope: each one is built on the scoped admin and
    names the path from its rows to their district, or is declared platform-wide."""
    from backend.core.admin import DistrictScope, DistrictScopedAdmin

    platform_wide = {"dispatch.servicetype"}
    libraries = {"auth", "axes"}  # groups; lockouts (django-axes)
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        wide = label in platform_wide or model._meta.app_label in libraries
        assert isinstance(model_admin, DistrictScopedAdmin), label
        assert bool(model_admin.district_lookups) != wide, label
        for lookup in model_admin.district_lookups:
            model._default_manager.filter(**{lookup: 1}).exists()  # the path resolves
        for inline in model_admin.inlines:
            assert issubclass(inline, DistrictScope), f"{label} inline {inline.__name__}"
            assert inline.district_lookups, f"{label} inline {inline.__name__}"


def test_a_district_admin_cannot_import_elders_into_another_district(
    everything_allowed, other_district
):
    client = admin_login(everything_allowed)

    form = client.get("/admin/elders/elder/import/").context["form"]

    assert other_district not in form.fields["district"].queryset
    assert Elder.objects.count() == 0
