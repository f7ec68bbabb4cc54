"""Writes to accounts: passwords, ending tokens, deactivation, unlocking, second factors. Each
one is audited as an Event; what leaves the process (cache, sockets) goes after the commit."""

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from backend.core.errors import DomainError
from backend.core.events import event_record, layer_send, user_group
from backend.core.tickets import ws_tickets_revoke

from .lockout import lockout_clear
from .models import User
from .tokens import token_version_forget, token_version_publish

# The message /ws/ consumers close on (backend/core/consumers.py: session_end).
SESSION_END = {"type": "session.end"}


def password_check(password: str, *, user: User | None = None, field: str = "password") -> None:
    """400 naming `field` unless the password meets AUTH_PASSWORD_VALIDATORS (length, common,
    numeric, like the user's names)."""
    try:
        validate_password(password, user=user)
    except ValidationError as refused:
        raise DomainError(
            _("The password is too weak."), code="weak_password", fields={field: refused.messages}
        ) from None


def user_tokens_end(*, user: User) -> int:
    """End every token, unspent WebSocket ticket and open socket of `user`: raise their token
    version. Call inside the transaction that makes the change that ends them."""
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    version = User.objects.filter(pk=user.pk).values_list("token_version", flat=True).get()
    user.token_version = version
    ws_tickets_revoke(user_id=user.pk)
    # Forgotten now (readers go to the database: this transaction sees the new version, others
    # the old until the commit) and published after the commit, over any old value cached since.
    token_version_forget(user.pk)
    transaction.on_commit(lambda: token_version_publish(user.pk, version))
    transaction.on_commit(lambda: _sockets_close(user.pk))
    return version


def _sockets_close(user_id: int) -> None:
    """Best effort, like every push (bounded, never raising): a socket that misses it dies with
    its ticket's session anyway at the next reconnect (the ticket needs a current token)."""
    layer_send([user_group(user_id)], SESSION_END, user_id=user_id)


def _record(kind: str, user: User, actor: User | None, **extra: Any) -> None:
    event_record(
        kind=kind,
        subject_type="user",
        subject_id=user.pk,
        actor=actor,
        district_id=actor.district_id if actor and actor.is_district_staff else user.district_id,
        **extra,
    )


def user_password_change(*, user: User, old_password: str, new_password: str) -> None:
    """The user's own change: the old password first; every token of theirs ends."""
    if not user.check_password(old_password):
        raise DomainError(
            _("The current password is wrong."),
            code="wrong_password",
            fields={"old_password": [_("not your current password")]},
        )
    password_check(new_password, user=user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user_tokens_end(user=user)
        _record("user.password_changed", user, user)


def user_language_set(*, user: User, language: str) -> None:
    """The user's own language ("" for the platform's): their answers, texts and calls."""
    if language == user.language:
        return
    with transaction.atomic():
        before = user.language
        user.language = language
        user.save(update_fields=["language"])
        _record("user.language_changed", user, user, before=before, after=language)


def user_password_set(*, user: User, actor: User | None) -> None:
    """After someone else set `user`'s password (the admin's form): their tokens end."""
    with transaction.atomic():
        user_tokens_end(user=user)
        _record("user.password_set", user, actor)


def user_deactivate(*, user: User, actor: User | None) -> None:
    """No more sign-ins; every token and socket of theirs ends now."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        user_tokens_end(user=user)
        _record("user.deactivated", user, actor)


def user_sign_out_everywhere(*, user: User) -> None:
    with transaction.atomic():
        user_tokens_end(user=user)
        _record("user.signed_out_everywhere", user, user)


def user_unlock(*, user: User, actor: User) -> int:
    """Forget the wrong sign-ins at `user` from every address; returns how many addresses were
    locked out. The caller has checked that `actor` manages `user`."""
    with transaction.atomic():
        unlocked = lockout_clear(username=user.get_username())
        _record("user.unlocked", user, actor, data={"addresses_locked": unlocked})
    return unlocked


def user_otp_enrol(*, user: User, key: str | None = None, actor: User | None = None) -> TOTPDevice:
    """A confirmed authenticator (TOTP) for a staff account, replacing any it had; `key` (hex)
    only for the demo's fixed secrets, otherwise a random one."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        fields = {"key": key} if key else {}
        device = TOTPDevice.objects.create(
            user=user, name="authenticator", confirmed=True, **fields
        )
        _record("user.second_factor_enrolled", user, actor)
    return device
