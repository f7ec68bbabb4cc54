"""Idempotency-Key for writes that clients retry.

The key is claimed with an INSERT inside the request's transaction: a concurrent retry with the
same key waits on the unique index until the first commits, then replays the first answer. The
same key with another body is refused. Only successful answers are kept: a refused request
changed nothing, so the client may correct it and retry under the same key.

One kind of refusal is itself a fact to keep: a `DomainError` with `keeps_changes = True`
(an accept refused because the offer's deadline passed expires the offer and moves the work
on). Its changes commit and its answer is given, but it is not kept for the key.

A page's form (the console's htmx posts, the family page's forms) carries its key in a hidden
field, `FORM_FIELD`, made when the form is rendered (`{% idempotency_field %}`,
backend/core/templatetags/idempotency.py); `form_post_first` claims it the same way.
"""

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from .errors import DomainError
from .models import IdempotencyRecord
from .permissions import signed_in

HEADER = "Idempotency-Key"
FORM_FIELD = "idempotency_key"
MAX_KEY_LENGTH = 200


class IdempotencyKeyReused(DomainError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


def _body_hash(path: str, data: Any) -> str:
    try:
        canonical = json.dumps(data, sort_keys=True, default=str)
    except TypeError:
        canonical = repr(data)
    return hashlib.sha256(f"{path}\n{canonical}".encode()).hexdigest()


def _key_checked(key: str, field: str) -> str:
    if len(key) > MAX_KEY_LENGTH:
        raise DomainError(
            _("Idempotency-Key is longer than 200 characters."),
            code="invalid",
            fields={field: [_("at most 200 characters")]},
        )
    if not key.isprintable():  # a NUL or a control character cannot be stored or compared
        raise DomainError(
            _("Idempotency-Key has characters that cannot be printed."),
            code="invalid",
            fields={field: [_("printable characters only")]},
        )
    return key


def idempotency_claim(
    *, user_id: int, key: str, method: str, path: str, body_hash: str
) -> int | None:
    """Claim `key` for the user inside the caller's transaction: the claim's id, or None when an
    earlier request holds it. A concurrent first request is waited for (the unique index) until
    it commits or rolls back; a rolled-back first leaves the key free for this one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_idempotencyrecord"
            " (user_id, key, method, path, body_hash, created_at)"
            " VALUES (%s, %s, %s, %s, %s, now())"
            " ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [user_id, key, method, path, body_hash],
        )
        claimed = cursor.fetchone()
    return claimed[0] if claimed else None


def _first_with(*, user_id: int, key: str, body_hash: str) -> IdempotencyRecord:
    """The earlier request that holds the key; 422 if it came with another body."""
    first = IdempotencyRecord.objects.get(user_id=user_id, key=key)
    if first.body_hash != body_hash:
        raise IdempotencyKeyReused(
            _("This Idempotency-Key was used with a different request body.")
        )
    return first


def _claim_or_earlier(
    request: HttpRequest | Request, *, user_id: int, key: str, body_hash: str
) -> tuple[int | None, IdempotencyRecord | None]:
    """This request's claim of the key, or the earlier request that holds it (422 when that
    one came with another body)."""
    claimed = idempotency_claim(
        user_id=user_id,
        key=key,
        method=request.method or "POST",
        path=request.path,
        body_hash=body_hash,
    )
    if claimed is not None:
        return claimed, None
    return None, _first_with(user_id=user_id, key=key, body_hash=body_hash)


@dataclass(frozen=True)
class FormPost:
    """A form post's claim of its key: `first` (do the work, then `form_post_result` what it
    made) or an earlier post's `result` (do nothing again: answer with that)."""

    first: bool
    record_id: int | None
    result: dict[str, Any]


def form_post_claim(request: HttpRequest, *, user_id: int, fields: Mapping[str, Any]) -> FormPost:
    """A form's post, inside the caller's transaction: the first with its hidden key (and
    `fields`), or the earlier one's recorded result. 422 when the key came with other fields.
    A post without the hidden field is always a first, with nothing to record."""
    key = _key_checked(str(request.POST.get(FORM_FIELD, "")).strip(), FORM_FIELD)
    if not key:
        return FormPost(first=True, record_id=None, result={})
    claimed, earlier = _claim_or_earlier(
        request, user_id=user_id, key=key, body_hash=_body_hash(request.path, dict(fields))
    )
    if earlier is None:
        return FormPost(first=True, record_id=claimed, result={})
    return FormPost(first=False, record_id=earlier.pk, result=earlier.response_body or {})


def form_post_result(post: FormPost, result: dict[str, Any]) -> None:
    """What the first post made (ids), for a repeat of it to answer with; in its transaction."""
    if post.first and post.record_id is not None:
        IdempotencyRecord.objects.filter(pk=post.record_id).update(
            status_code=200, response_body=result
        )


def form_post_first(request: HttpRequest, *, user_id: int, fields: Mapping[str, Any]) -> bool:
    """As `form_post_claim`, for a form whose repeat answers with what is there now."""
    return form_post_claim(request, user_id=user_id, fields=fields).first


def idempotent(view_method: Callable) -> Callable:
    """Wrap an APIView write method; without the header it runs as usual, in one transaction."""

    @functools.wraps(view_method)
    def wrapper(self, request: Request, *args, **kwargs) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            with transaction.atomic():
                try:
                    return view_method(self, request, *args, **kwargs)
                except DomainError as exc:
                    if not getattr(exc, "keeps_changes", False):
                        raise
                    refusal = exc
            raise refusal
        _key_checked(key, HEADER)
        body_hash = _body_hash(request.path, request.data)
        with transaction.atomic():
            claimed, first = _claim_or_earlier(
                request, user_id=signed_in(request).pk, key=key, body_hash=body_hash
            )
            if first is not None:
                replay = Response(first.response_body, status=first.status_code)
                replay["Idempotent-Replayed"] = "true"
                return replay
            assert claimed is not None  # no earlier request: this one holds the key
            try:
                response = view_method(self, request, *args, **kwargs)
            except DomainError as exc:
                if not getattr(exc, "keeps_changes", False):
                    raise
                IdempotencyRecord.objects.filter(pk=claimed).delete()
                refusal = exc
            else:
                if status.is_success(response.status_code):
                    IdempotencyRecord.objects.filter(pk=claimed).update(
                        status_code=response.status_code, response_body=response.data
                    )
                else:
                    transaction.set_rollback(True)
                return response
        raise refusal

    return wrapper
