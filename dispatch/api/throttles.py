from typing import Any

from rest_framework.request import Request

from backend.accounts.throttles import RoleWriteThrottle
from dispatch.models import Priority, ServiceType


class RequestCreateThrottle(RoleWriteThrottle):
    """New work orders per user and role (`requests.<role>`), emergencies counted apart and
    far fewer (`emergencies.<role>`): each one texts and calls the elder's contacts."""

    def kind(self, request: Request, view: Any) -> str | None:
        if request.method != "POST" or not isinstance(request.data, dict):
            return None
        priority = request.data.get("priority")
        if not priority:
            service_type = service_type_named(request, str(request.data.get("service_type")))
            priority = service_type.default_priority if service_type else None
        return "emergencies" if priority == Priority.EMERGENCY else "requests"


def service_type_named(request: Request, code: str) -> ServiceType | None:
    """The service type of this code, read once per request: the throttle above counts a new
    work order by its priority, and the handler then creates the order with the same row."""
    known: dict[str, ServiceType | None] = request.__dict__.setdefault("_service_types", {})
    if code not in known:
        known[code] = ServiceType.objects.filter(code=code).first()
    return known[code]
