"""Choosing which texts one gets, on the family page: the member's own contact entry per elder,
recorded on the elder's file; and the choice really decides who is texted at check-in and
check-out and of delays, while an emergency reaches every contact who takes texts at all."""

import pytest
from django.db import transaction

from backend.core.models import Event
from dispatch import escalation, services
from dispatch.models import ServiceType
from elders.models import EmergencyContact
from elders.selectors import elder_sms_contacts
from tests import factories as f
from tests.dispatch.conftest import create
from tests.dispatch.test_core_loop import _assigned, check_in
from tests.family.conftest import form_key, signed_in

pytestmark = pytest.mark.django_db

PAGE = "/family/messages/"


def mine(family) -> EmergencyContact:
    return EmergencyContact.objects.get(user=family)


def choose(client, contact, *, wants_sms=True, kinds=("visit", "delay"), key=None):
    key = key or form_key(client.get(PAGE).content.decode())
    data = {"sms_kinds": list(kinds), "idempotency_key": key}
    if wants_sms:
        data["wants_sms"] = "true"
    return client.post(f"/family/messages/{contact.pk}/", data)


def texted(outbox, template: str) -> list[str]:
    return sorted(m["to"] for m in outbox if m["kind"] == "sms" and m["template"] == template)


def test_the_page_shows_each_of_ones_contact_entries_and_the_safety_rule(family, elder):
    html = signed_in(family, "en").get(PAGE).content.decode()

    contact = mine(family)
    assert elder.full_name in html and str(contact.phone)[-4:] in html
    assert f'action="/family/messages/{contact.pk}/"' in html
    assert html.count('name="sms_kinds"') == 2 and html.count("checked") >= 3
    assert "whatever is chosen here" in html  # emergencies reach everyone who takes texts


def test_a_member_with_no_contact_entry_is_told_so(db):
    lonely = f.UserFactory(role="family")

    html = signed_in(lonely, "en").get(PAGE).content.decode()

    assert "no text messages to choose" in html and 'name="sms_kinds"' not in html


def test_the_choice_is_saved_and_recorded_on_the_elders_file(family, elder):
    contact = mine(family)

    answer = choose(signed_in(family), contact, kinds=["delay"])

    assert answer.status_code == 302 and answer["Location"] == PAGE
    contact.refresh_from_db()
    assert (contact.wants_sms, contact.sms_kinds) == (True, ["delay"])
    event = Event.objects.get(kind="elder.contact_messages_set")
    assert (event.subject_type, event.subject_id, event.actor) == ("elder", elder.pk, family)
    assert event.data["before"] == {"wants_sms": True, "sms_kinds": ["delay", "visit"]}
    assert event.data["sms_kinds"] == ["delay"]


def test_texts_can_be_turned_off_entirely(family):
    contact = mine(family)

    choose(signed_in(family), contact, wants_sms=False, kinds=[])

    contact.refresh_from_db()
    assert (contact.wants_sms, contact.sms_kinds) == (False, [])


def test_the_same_form_sent_twice_is_recorded_once(family):
    client = signed_in(family)
    key = form_key(client.get(PAGE).content.decode())

    choose(client, mine(family), kinds=["visit"], key=key)
    again = choose(client, mine(family), kinds=["visit"], key=key)

    assert again.status_code == 302
    assert Event.objects.filter(kind="elder.contact_messages_set").count() == 1


def test_another_contacts_entry_is_a_404(family, stranger):
    theirs = EmergencyContact.objects.get(user=stranger[0])

    answer = choose(signed_in(family), theirs, wants_sms=False, kinds=[])

    assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.wants_sms and theirs.sms_kinds == ["visit", "delay"]


@pytest.mark.parametrize("kinds", [["emergency"], ["visit", "marketing"]])
def test_a_kind_there_is_no_choice_about_is_a_400_naming_the_field(family, kinds):
    answer = choose(signed_in(family), mine(family), kinds=kinds)

    assert answer.status_code == 400
    assert 'data-field="sms_kinds"' in answer.content.decode()
    assert not Event.objects.filter(kind="elder.contact_messages_set").exists()


# Who is texted ---------------------------------------------------------------------------------


@pytest.fixture
def three(elder):
    """Delays only, the default (everything), and no texts at all."""
    return {
        "delays": f.ContactFactory(elder=elder, priority=11, sms_kinds=["delay"]),
        "all": f.ContactFactory(elder=elder, priority=12),
        "off": f.ContactFactory(elder=elder, priority=13, wants_sms=False),
    }


def test_arrival_and_departure_go_only_to_those_who_chose_them(
    operator, elder, three, make_worker, outbox, django_capture_on_commit_callbacks
):
    worker, sr_id = _assigned(operator, elder, make_worker, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        arrived = check_in(worker, sr_id, f.offset(f.HOME, north_m=30).coords)

    assert arrived.status_code == 201, arrived.json()
    assert str(three["all"].phone) in texted(outbox, "sms.visit_check_in")
    assert str(three["delays"].phone) not in texted(outbox, "sms.visit_check_in")
    assert str(three["off"].phone) not in texted(outbox, "sms.visit_check_in")


def test_a_delay_goes_only_to_those_who_chose_delays(
    operator, elder, three, outbox, django_capture_on_commit_callbacks
):
    ServiceType.objects.filter(code="meal").update(notify_contacts=True)  # tells the family
    f.ContactFactory(elder=elder, priority=14, sms_kinds=["visit"])

    create(operator, elder, django_capture_on_commit_callbacks)  # nobody near: no_worker

    assert texted(outbox, "sms.no_worker") == sorted(
        [str(three["delays"].phone), str(three["all"].phone)]
    )


def test_an_emergency_reaches_every_contact_who_takes_texts_whatever_they_chose(
    operator, elder, three, outbox, django_capture_on_commit_callbacks
):
    nothing = f.ContactFactory(elder=elder, priority=14, sms_kinds=[])

    create(operator, elder, django_capture_on_commit_callbacks, service="emergency")

    everyone = sorted([str(c.phone) for c in (three["delays"], three["all"], nothing)])
    assert texted(outbox, "sms.emergency_created") == everyone
    # Its delay (nobody took it) too: a text about urgent work is an emergency's.
    assert texted(outbox, "sms.no_worker") == everyone


def test_a_delay_on_an_emergency_ignores_the_choice_too(
    operator, elder, three, outbox, django_capture_on_commit_callbacks
):
    """The same rule from escalation.py's own path, after the request exists."""
    sr_id = create(operator, elder, django_capture_on_commit_callbacks, service="emergency")
    outbox.clear()
    nothing = f.ContactFactory(elder=elder, priority=14, sms_kinds=[])

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        sr = services._lock(sr_id)
        escalation.alert_raise(sr, "non_arrival")

    assert str(nothing.phone) in texted(outbox, "sms.non_arrival")
    assert str(three["off"].phone) not in texted(outbox, "sms.non_arrival")


def test_an_unknown_kind_of_text_is_a_programming_error(elder):
    with pytest.raises(ValueError):
        elder_sms_contacts(elder_id=elder.pk, kind="marketing")
