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
            code = request.data.get("service_type")
            priority = (
                ServiceType.objects.filter(code=str(code))
                .values_list("default_priority", flat=True)
                .first()
            )
        return "emergencies" if priority == Priority.EMERGENCY else "requests"
