"""Encryption at rest for identifiers, and keyed hashes to find them by exact match.

Keys come from the environment: ANXIN_FIELD_KEYS is a comma-separated list of Fernet keys, the
first encrypts and all decrypt (add a new key in front, run `manage.py rotate_field_keys`, then
drop the old one). ANXIN_LOOKUP_HASH_KEY keys the HMAC used for exact-match lookups; changing it
needs the same rotation command, which recomputes every hash from the decrypted value.
"""

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionFailed(Exception):
    pass


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def _keys() -> MultiFernet:
    return _fernet(tuple(settings.ANXIN_FIELD_KEYS))


def field_encrypt(plaintext: str) -> str:
    return _keys().encrypt(plaintext.encode()).decode()


def field_decrypt(token: str) -> str:
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionFailed("no configured key decrypts this value") from exc


def field_reencrypt(token: str) -> str:
    """Re-encrypt under the first (current) key."""
    return _keys().rotate(token.encode()).decode()


def lookup_hash(value: str) -> str:
    key = settings.ANXIN_LOOKUP_HASH_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
