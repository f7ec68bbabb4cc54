import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from backend.core.crypto import DecryptionFailed, field_decrypt
from elders.models import Elder
from elders.services import elder_find_by_id_number
from tests.elders import ids

pytestmark = pytest.mark.django_db


def test_rotating_keys_keeps_every_id_readable_and_findable(registered, settings):
    old_key = settings.ANXIN_FIELD_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.ANXIN_FIELD_KEYS = [new_key, old_key]
    settings.ANXIN_LOOKUP_HASH_KEY = "a-new-lookup-key"
    assert elder_find_by_id_number(ids.STANDARD_FEMALE_1949) is None  # old hash, new key

    call_command("rotate_field_keys", stdout=io.StringIO(), stderr=io.StringIO())
    settings.ANXIN_FIELD_KEYS = [new_key]  # the old key is gone

    elder = Elder.objects.get(pk=registered.pk)
    assert field_decrypt(elder.id_number_encrypted) == ids.STANDARD_FEMALE_1949
    assert elder_find_by_id_number(ids.STANDARD_FEMALE_1949) == elder
    settings.ANXIN_FIELD_KEYS = [old_key]
    with pytest.raises(DecryptionFailed):
        field_decrypt(elder.id_number_encrypted)
