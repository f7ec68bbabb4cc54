"""An inbound SMS nothing on the platform took (telephony's flows.register_sms_unhandled, hooked
from hotline/apps.py): a call-back task for the operators of each district concerned, taken
and closed by a named operator like a message left on the hotline, so that "救命" sent at 3 a.m.
with nobody connected is still on the list in the morning. The district is the one of
everyone the sender may be (an elder's mobile or landline, an emergency contact's phone, a
worker's); for a number we do not know, the district of the hotline number texted (`To`)."""

from typing import Any

import structlog
from django.db import transaction

from backend.core.events import event_record
from backend.telephony.models import InboundSms
from dispatch.offer_sms import workers_by_phone
from elders.models import Elder
from elders.selectors import elders_matching_phone

from .models import CallBack
from .numbers import district_for_number

log = structlog.get_logger(__name__)


def sms_senders(sender: str) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """Who the sender may be, by district: the elders and the workers the number matches."""
    districts: dict[int, dict[str, list[dict[str, Any]]]] = {}

    def found(district_id: int) -> dict[str, list[dict[str, Any]]]:
        return districts.setdefault(district_id, {"elders": [], "workers": []})

    for elder, matched_on in elders_matching_phone(elders=Elder.objects.all(), phone=sender):
        found(elder.district_id)["elders"].append(
            {"id": elder.pk, "name": elder.full_name, "matched_on": matched_on}
        )
    for worker in workers_by_phone(sender):
        found(worker.provider.district_id)["workers"].append(
            {"id": worker.pk, "name": worker.full_name}
        )
    return districts


def sms_call_backs_open(message: InboundSms) -> bool:
    """A call-back task for each district concerned; False (left to the log) when the sender
    is nobody we know and the number texted is no district's hotline."""
    districts = sms_senders(message.sender)
    if not districts:
        texted = district_for_number(message.to_number)
        if texted is None:
            log.warning("hotline_sms_no_district", message=message.pk)
            return False
        districts = {texted: {"elders": [], "workers": []}}
    with transaction.atomic():
        for district_id, who in sorted(districts.items()):
            back, created = CallBack.objects.get_or_create(
                sms=message, district_id=district_id, defaults={"from_number": message.sender[:32]}
            )
            if not created:
                continue
            event_record(
                kind="callback.open",
                subject_type="callback",
                subject_id=back.pk,
                after=back.state,
                district_id=district_id,
                data={
                    "call": None,
                    "sms": message.pk,
                    "reason": "sms",
                    "from": message.sender,
                    "body": message.body,
                    **who,
                },
            )
    return True
