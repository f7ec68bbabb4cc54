"""Idempotency-Key for writes that clients retry.

The key is claimed with an INSERT inside the request's transaction: a concurrent retry with the
same key waits on the unique index until the first commits, then replays the first answer. The
same key with another body is refused. Only successful answers are kept: a refused request
changed nothing, so the client may correct it and retry under the same key.

One kind of refusal is itself a fact to keep: a `DomainError` with `keeps_changes = True`
(an accept refused because the offer's deadline passed expires the offer and moves the work
on). Its changes commit and its answer is given, but it is not kept for the key.
"""

import functools
import hashlib
import json
from collections.abc import Callable

from django.db import connection, transaction
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from .errors import DomainError
from .models import IdempotencyRecord
from .permissions import signed_in

HEADER = "Idempotency-Key"


class IdempotencyKeyReused(DomainError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


def _body_hash(request: Request) -> str:
    try:
        canonical = json.dumps(request.data, sort_keys=True, default=str)
    except TypeError:
        canonical = repr(request.data)
    return hashlib.sha256(f"{request.path}\n{canonical}".encode()).hexdigest()


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
        if len(key) > 200:
            raise DomainError(
                _("Idempotency-Key is longer than 200 characters."),
                code="invalid",
                fields={HEADER: [_("at most 200 characters")]},
            )
        body_hash = _body_hash(request)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO core_idempotencyrecord"
                    " (user_id, key, method, path, body_hash, created_at)"
                    " VALUES (%s, %s, %s, %s, %s, now())"
                    " ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
                    [request.user.pk, key, request.method, request.path, body_hash],
                )
                claimed = cursor.fetchone()
            if claimed is None:
                first = IdempotencyRecord.objects.get(user=signed_in(request), key=key)
                if first.body_hash != body_hash:
                    raise IdempotencyKeyReused(
                        _("This Idempotency-Key was used with a different request body.")
                    )
                replay = Response(first.response_body, status=first.status_code)
                replay["Idempotent-Replayed"] = "true"
                return replay
            try:
                response = view_method(self, request, *args, **kwargs)
            except DomainError as exc:
                if not getattr(exc, "keeps_changes", False):
                    raise
                IdempotencyRecord.objects.filter(pk=claimed[0]).delete()
                refusal = exc
            else:
                if status.is_success(response.status_code):
                    IdempotencyRecord.objects.filter(pk=claimed[0]).update(
                        status_code=response.status_code, response_body=response.data
                    )
                else:
                    transaction.set_rollback(True)
                return response
        raise refusal

    return wrapper
