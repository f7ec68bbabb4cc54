"""A service's or a serializer's refusal, as the console shows it: the reason in one line, or
each field's reasons beside the field. Every console action answers a refusal with its own
4xx (or the telephone network's 503): htmx is told to show those answers (base.html)."""

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException

from backend.core.errors import DomainError


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
