"""One error shape everywhere: {"error": {"code", "message", "fields"}} plus any detail.

`code` is for programs and never changes; `message` and the texts in `fields` are for people, in
the request's language (backend/core/i18n.py): services raise with gettext messages."""

from typing import Any

import structlog
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

log = structlog.get_logger(__name__)

API_PREFIX = "/api/"
SERVER_ERROR = {
    "code": "server_error",
    "message": _("Something went wrong on our side. It has been logged; please try again."),
    "fields": {},
}
NOT_FOUND = {"code": "not_found", "message": _("Not found."), "fields": {}}
UNAVAILABLE = {
    "code": "unavailable",
    "message": _(
        "Busy or briefly unable to reach the database: nothing was changed. Try again in a "
        "moment, with the same Idempotency-Key."
    ),
    "fields": {},
}
# Seconds a client waits before trying again after a 503.
RETRY_AFTER_S = 2


class DomainError(exceptions.APIException):
    """A refusal the domain names: carries a machine code and extra fields for the client."""

    status_code: int = status.HTTP_400_BAD_REQUEST
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


class NotAllowed(DomainError):
    """403: the caller may see the thing but not do this to it."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "not_allowed"


class NotFound(DomainError):
    """404: no such thing, or none the caller may see (the two are not told apart)."""

    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"


class RuleViolation(DomainError):
    """422: well-formed input that a business rule refuses (e.g. check-in outside the geofence)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "rule_violation"


def require_code(value: str, allowed, *, field: str, message: str, code: str) -> None:
    """422 naming the field and the codes it takes here, unless `value` is one of them."""
    if value not in allowed:
        raise RuleViolation(
            message,
            code=code,
            fields={field: [gettext("one of %(codes)s") % {"codes": ", ".join(sorted(allowed))}]},
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
    if response is None and isinstance(exc, OperationalError):
        return _unavailable(exc, context)
    if response is None:
        return _unhandled(exc, context)
    if isinstance(exc, DomainError):
        body = {"code": exc.error_code, "message": str(exc.detail), "fields": {}, **exc.extra}
    elif isinstance(exc, exceptions.ValidationError):
        body = {
            "code": "invalid",
            "message": gettext("The request has invalid fields."),
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


def _unavailable(exc: OperationalError, context: dict) -> Response:
    """The database refused, was unreachable, or every pooled connection stayed busy past
    DATABASE_POOL_TIMEOUT (overload), or a deadlock or serialization failure ended the
    transaction: it rolled back, and the same request can simply be sent again."""
    request = context.get("request")
    log.warning(
        "database_unavailable",
        method=getattr(request, "method", None),
        path=getattr(request, "path", None),
        error=type(exc.__cause__ or exc).__name__,
    )
    set_rollback()
    return Response(
        {"error": UNAVAILABLE},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _unhandled(exc: Exception, context: dict) -> Response:
    """A bug, not a refusal: log the traceback, roll back, answer 500 in the one JSON shape.

    The message says nothing of the exception: it may carry data the caller must not see.
    """
    request = context.get("request")
    view = context.get("view")
    log.error(
        "unhandled_exception",
        method=getattr(request, "method", None),
        path=getattr(request, "path", None),
        view=type(view).__name__ if view is not None else None,
        exc_info=exc,
    )
    set_rollback()
    return Response({"error": SERVER_ERROR}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)


# Django's handlers for what never reaches a DRF view (middleware, URLs that match nothing), in
# the project's shape on API paths. backend/urls.py names them as handler500 and handler404.


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"error": SERVER_ERROR}, status=500)
    return defaults.server_error(request)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"error": NOT_FOUND}, status=404)
    return defaults.page_not_found(request, exception)
