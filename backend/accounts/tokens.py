"""JWTs: how their holder signed in (`amr`) and which of the user's token versions they belong to
(`ver`). Raising a user's version ends every token they hold at once; the version is read from
the shared cache, so checking it costs no query (the database only on a cache miss)."""

from django.core.cache import cache
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken, Token

from .factors import PASSWORD, SECOND_FACTOR
from .models import User

VERSION_CLAIM = "ver"
VERSION_TTL_S = 24 * 3600  # a miss costs one query


def _version_key(user_id: int) -> str:
    return f"token-version:{user_id}"


def token_version(user_id: int) -> int:
    version = cache.get(_version_key(user_id))
    if version is None:
        version = (
            User.objects.filter(pk=user_id).values_list("token_version", flat=True).first() or 0
        )
        # add, not set: a version raised meanwhile (and put in the cache) is never overwritten.
        cache.add(_version_key(user_id), version, VERSION_TTL_S)
    return int(version)


def token_version_forget(user_id: int) -> None:
    cache.delete(_version_key(user_id))


def token_version_publish(user_id: int, version: int) -> None:
    """After the commit that raised it: every server process sees the new version at once."""
    cache.set(_version_key(user_id), version, VERSION_TTL_S)


def token_is_current(token: Token) -> bool:
    """The token's user still holds its version. A token with no version claim (minted before
    versions, or by AccessToken.for_user) counts as version 0: ended by the first raise."""
    try:
        user_id = int(token[api_settings.USER_ID_CLAIM])
    except (KeyError, TypeError, ValueError):
        return False
    return int(token.get(VERSION_CLAIM, 0)) == token_version(user_id)


def tokens_for(user: User, *, second_factor: bool) -> RefreshToken:
    """A refresh token (its access tokens copy the claims) saying how the user signed in."""
    refresh = RefreshToken.for_user(user)
    refresh["amr"] = [PASSWORD, SECOND_FACTOR] if second_factor else [PASSWORD]
    refresh[VERSION_CLAIM] = token_version(user.pk)
    return refresh
