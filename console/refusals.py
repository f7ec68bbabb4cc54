"""A service's or a serializer's refusal, as the console shows it: the reason in one line, or
each field's reasons beside the field. Every console action answers a refusal with its own
4xx (or the telephone network's 503): htmx is told to show those answers (base.html)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import APIException

from backend.accounts.models import User
from backend.core.errors import DomainError
from backend.core.idempotency import form_post_first


def _words(messages: Any) -> str:
    return " ".join(map(str, messages)) if isinstance(messages, list) else str(messages)


def refusal_line(refused: APIException) -> str:
    """One line naming what was refused and why (fields by name)."""
    detail = refused.detail
    if isinstance(detail, dict):
        return "; ".join(f"{field}: {_words(messages)}" for field, messages in detail.items())
    return _words(detail)


def refusal_fields(refused: APIException) -> dict[str, list[str]]:
    """What each field was refused for: a serializer's detail, or a domain error's `fields`."""
    if isinstance(refused, DomainError):
        return {k: [str(m) for m in v] for k, v in refused.extra.get("fields", {}).items()}
    if isinstance(refused.detail, dict):
        return {
            str(k): [str(m) for m in (v if isinstance(v, list) else [v])]
            for k, v in refused.detail.items()
        }
    return {}


def refusal_message(refused: APIException) -> str:
    """The sentence above a form whose fields carry their own reasons."""
    if isinstance(refused.detail, dict | list):
        return _("Check the fields marked below.")
    return str(refused.detail)


@dataclass(frozen=True)
class Acted:
    """What became of a console action: done, done already (the same form sent twice), or
    refused (the service's or the form's reason, with its status)."""

    refused: APIException | None = None
    repeated: bool = False

    def notice(self, done: str) -> str:
        """What to tell the operator when it was not refused."""
        return _("Already done: the form was sent twice.") if self.repeated else done


def act_once(
    request: HttpRequest,
    user: User,
    action: Callable[[dict[str, Any]], object],
    form: type[serializers.Serializer] | None = None,
) -> Acted:
    """Check the posted form with the API's own serializer, then act once per the form's
    idempotency key (`backend/core/idempotency.py`), in one transaction."""
    try:
        values: dict[str, Any] = {}
        if form is not None:
            data = form(data=request.POST)
            data.is_valid(raise_exception=True)
            values = dict(data.validated_data)
        with transaction.atomic():
            if not form_post_first(request, user_id=user.pk, fields=values):
                return Acted(repeated=True)
            action(values)
    except APIException as refused:
        return Acted(refused=refused)
    return Acted()
