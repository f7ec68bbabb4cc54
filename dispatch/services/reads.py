"""What reading a work order leaves behind."""

from collections.abc import Iterable

from backend.accounts.models import User
from elders.services import access_log_record_many

from ..models import ServiceRequest


def request_care_notes_read(*, user: User, requests: Iterable[ServiceRequest]) -> None:
    """Care notes copied from a care plan are care-plan notes: reading them on a work order is
    access-logged as reading them on the file is (field `care_plan`, the order as purpose).
    Precondition: each row carries `elder_shown` (dispatch.selectors.requests_visible_to)."""
    access_log_record_many(
        user=user,
        field="care_plan",
        reads=[
            (sr.elder_id, f"request:{sr.pk}: care notes on work order {sr.reference}")
            for sr in requests
            if sr.care_need_id and sr.notes and "notes" in getattr(sr, "elder_shown", ())
        ],
    )
