"""Which language a person gets: their own setting, else the platform's (backend/core/i18n.py)."""

import pytest

from backend.core.i18n import language_for_phone, language_for_user
from tests import factories as f


def test_a_user_without_a_setting_gets_the_platform_language(db):
    assert language_for_user(f.UserFactory(role="family")) == "zh-hans"
    assert language_for_user(None) == "zh-hans"


def test_a_user_with_a_setting_gets_it(db):
    assert language_for_user(f.UserFactory(role="family", language="en")) == "en"


@pytest.mark.parametrize("field", ["phone", "alt_phone"])
def test_a_family_contact_with_an_account_gets_its_language(elder, field):
    user = f.UserFactory(role="family", language="en")
    contact = f.ContactFactory(elder=elder, user=user, alt_phone="+8613911110000")

    assert language_for_phone(str(getattr(contact, field))) == "en"


@pytest.mark.parametrize("field", ["phone", "alt_phone"])
def test_a_worker_gets_the_language_of_their_account(db, field):
    worker = f.WorkerFactory(user__language="en", alt_phone="+8613711110000")

    assert language_for_phone(getattr(worker, field)) == "en"


def test_an_operator_is_found_by_their_registered_phone(db):
    f.UserFactory(role="operator", language="en", phone="+8613611110000")

    assert language_for_phone("+86 136 1111 0000") == "en"


def test_a_contact_without_an_account_an_elder_and_a_stranger_get_the_platform_language(elder):
    f.ContactFactory(elder=elder, phone="+8613911112222")

    assert language_for_phone("+8613911112222") == "zh-hans"
    assert language_for_phone(elder.phone) == "zh-hans"
    assert language_for_phone("+8613500000000") == "zh-hans"
    assert language_for_phone("not a number") == "zh-hans"


def test_a_phone_lookup_is_one_query(elder, django_assert_num_queries):
    f.ContactFactory(elder=elder, user=f.UserFactory(role="family", language="en"))

    with django_assert_num_queries(1):
        language_for_phone("+8613911112222")
