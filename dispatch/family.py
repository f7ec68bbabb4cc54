"""What the family hears by SMS: every emergency contact who opted in (`wants_sms`) and chose
the kind of message (`sms_kinds`: arrivals and departures, delays and no-shows), each in their
own language, at check-in, at check-out, of any emergency as soon as it is made, and when
nobody takes a request or the caregiver does not arrive (escalation.py). Work on an emergency
is urgent (urgency.py): its messages never wait for quiet hours and go at least once, and they
go to every contact who takes texts whatever they chose; the rest are routine
(backend/telephony/services.py states the policy)."""

from typing import Any

import structlog

from backend.core.i18n import language_for_phone
from backend.telephony.models import Channel, Urgency
from backend.telephony.services import notify
from elders.models import SmsKind
from elders.selectors import elder_sms_contacts

from .models import ServiceRequest
from .urgency import request_is_urgent

log = structlog.get_logger(__name__)


def request_params(sr: ServiceRequest, *, elder_name: str = "") -> dict[str, Any]:
    """What every family message names: the elder, the service (in both languages), the order.
    `elder_name`: the elder's name when the caller has it (no query for the elder)."""
    return {
        "elder": elder_name or sr.elder.full_name,
        "service": {"en": sr.service_type.name, "zh-hans": sr.service_type.name_zh},
        "reference": sr.reference,
    }


def family_text(
    sr: ServiceRequest,
    *,
    kind: str,
    event: str,
    template: str,
    elder_name: str = "",
    **params: Any,
) -> int:
    """Text `template` about `sr` to every contact who takes texts of this `kind` (an
    `elders.models.SmsKind`); any text about urgent work counts as an emergency's, which every
    contact who takes texts gets. `event` keys it in the notification log, so telling twice
    about one event texts once. Returns how many."""
    params = {**request_params(sr, elder_name=elder_name), **params}
    urgent = request_is_urgent(sr)
    urgency = Urgency.EMERGENCY if urgent else Urgency.ROUTINE
    kind = SmsKind.EMERGENCY if urgent else kind
    told = 0
    for contact in elder_sms_contacts(elder_id=sr.elder_id, kind=kind):
        try:
            notify(
                event=event,
                to=str(contact.phone),
                channel=Channel.SMS,
                template=template,
                params=params,
                language=language_for_phone(contact.phone),
                urgency=urgency,
            )
        except ValueError:  # a number no SMS can reach: the others are still told
            log.error("family_sms_refused", contact=contact.pk, request=sr.pk, exc_info=True)
            continue
        told += 1
    return told
