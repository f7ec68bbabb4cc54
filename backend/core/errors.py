"""One error shape everywhere: {"error": {"code", "message", "fields"}} plus any detail."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(exceptions.APIException):
    """A refusal the domain names: carries a machine code and extra fields for the client."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail=message, code=code or self.default_code)
        self.error_code = code or self.default_code
        self.extra = extra


class StateConflict(DomainError):
    """409: the thing is not in a state that allows this; names the current state."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "state_conflict"

    def __init__(self, message: str, *, current_state: str, code: str | None = None, **extra):
        super().__init__(message, code=code, current_state=current_state, **extra)


class RuleViolation(DomainError):
    """422: well-formed input that a business rule refuses (e.g. check-in outside the geofence)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "rule_violation"


def require_code(value: str, allowed, *, field: str, message: str, code: str) -> None:
    """422 naming the field and the codes it takes here, unless `value` is one of them."""
    if value not in allowed:
        raise RuleViolation(
            message, code=code, fields={field: [f"one of {', '.join(sorted(allowed))}"]}
        )


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
        return out
    if isinstance(detail, list) and detail and not isinstance(detail[0], (dict, list)):
        return {prefix or "non_field_errors": [str(d) for d in detail]}
    if isinstance(detail, list):
        out = {}
        for i, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}[{i}]"))
        return out
    return {prefix or "non_field_errors": [str(detail)]}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, DomainError):
        body = {"code": exc.error_code, "message": str(exc.detail), "fields": {}, **exc.extra}
    elif isinstance(exc, exceptions.ValidationError):
        body = {
            "code": "invalid",
            "message": "The request has invalid fields.",
            "fields": _flatten(exc.detail),
        }
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        body = {
            "code": codes if isinstance(codes, str) else "error",
            "message": str(getattr(exc, "detail", exc)),
            "fields": {},
        }
    response.data = {"error": body}
    return response
