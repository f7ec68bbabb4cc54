"""An inbound SMS nothing took (telephony's flows.register_sms_unhandled): when it comes from a
number we know (an elder's mobile or landline, an emergency contact's phone, a worker's), the
operators of each district concerned get an `sms.unhandled` event with who it may be from and
what it says, so a person reads it ("救命" is never dropped). An unknown number is left to the
log (backend/telephony: the InboundSms row and a warning)."""

from typing import Any

from backend.core.events import event_record
from backend.telephony.models import InboundSms
from elders.models import Elder
from elders.selectors import elders_matching_phone

from .offer_sms import workers_by_phone


def sms_unhandled(message: InboundSms) -> bool:
    """Tell the districts of everyone the sender may be. True if the number is known."""
    districts: dict[int, dict[str, list[dict[str, Any]]]] = {}

    def found(district_id: int) -> dict[str, list[dict[str, Any]]]:
        return districts.setdefault(district_id, {"elders": [], "workers": []})

    elders = elders_matching_phone(elders=Elder.objects.all(), phone=message.sender)
    for elder, matched_on in elders:
        found(elder.district_id)["elders"].append(
            {"id": elder.pk, "name": elder.full_name, "matched_on": matched_on}
        )
    for worker in workers_by_phone(message.sender):
        found(worker.provider.district_id)["workers"].append(
            {"id": worker.pk, "name": worker.full_name}
        )
    for district_id, who in sorted(districts.items()):
        event_record(
            kind="sms.unhandled",
            subject_type="sms",
            subject_id=message.pk,
            after="unhandled",
            district_id=district_id,
            data={"from": message.sender, "body": message.body, **who},
        )
    return bool(districts)
