"""A small district for settlement tests: a district admin, a provider with its admin and a
worker, and visits made directly with the price recorded at check-in (times in Asia/Shanghai)."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

from backend.accounts.models import Role
from dispatch.models import ServiceRequest, ServiceType, Visit
from elders.models import Elder
from settlement.services import entitlement_set
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONTH = date(2025, 3, 1)  # a month long over, whatever today is
_refs = count(1)


def at(day: int, hour: int = 9, minute: int = 0, month: date = MONTH) -> datetime:
    return datetime(month.year, month.month, day, hour, minute, tzinfo=SHANGHAI)


class World:
    def __init__(self) -> None:
        self.district = f.DistrictFactory()
        self.admin = f.UserFactory(role=Role.DISTRICT_ADMIN, district=self.district)
        self.provider = f.ProviderFactory(district=self.district)
        self.provider_admin = f.UserFactory(role=Role.PROVIDER_ADMIN)
        self.provider.admins.add(self.provider_admin)
        self.worker = f.WorkerFactory(provider=self.provider)

    def elder(self, name: str = "王芳", categories=(), care_level=None) -> Elder:
        return f.ElderFactory(
            district=self.district,
            full_name=name,
            categories=list(categories),
            care_level=care_level,
        )

    def entitle(self, elder: Elder, payer: str, unit: str, monthly: str, since: date = MONTH):
        return entitlement_set(
            actor=self.admin,
            elder=elder,
            payer=payer,
            unit=unit,
            monthly=Decimal(monthly),
            valid_from=since,
        )

    def visit(
        self,
        elder: Elder,
        start: datetime,
        *,
        minutes: int = 60,
        price: str | None = "30.00",
        unit: str = "visit",
        exception: str = "",
        worker=None,
    ) -> Visit:
        worker = worker or self.worker
        service = ServiceType.objects.get(code="cleaning")
        request = ServiceRequest.objects.create(
            district=self.district,
            elder=elder,
            service_type=service,
            channel="operator",
            priority="routine",
            window_start=start,
            window_end=start + timedelta(hours=1),
            match_at=start,
            accept_due_at=start,
            arrive_due_at=start,
            state="closed",
            assigned_worker=worker,
            reference=f"settle-{next(_refs)}",
        )
        return Visit.objects.create(
            request=request,
            worker=worker,
            elder=elder,
            service_type=service,
            checked_in_at=start,
            check_in_point=elder.location,
            check_in_distance_m=5,
            checked_out_at=start + timedelta(minutes=minutes),
            state="completed",
            price=Decimal(price) if price is not None else None,
            price_unit=unit,
            exception_state=exception,
            exception_reason="gps_drift" if exception else "",
        )
