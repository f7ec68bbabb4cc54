"""Workers without a connection: an offer the worker's app has not opened within
ANXIN["OFFER_SMS_AFTER_S"] also goes to the worker's phone by SMS, with a short code. Where
the carrier supports two-way SMS (ANXIN["SMS_REPLIES"]; Twilio in mainland China does not,
docs/telephony.md) the worker accepts by replying with the code, through the same
`offer_accept` as the app: the first accept wins, whichever way it came.

The code is six random digits, unique among live offers (a partial unique constraint), and a
reply is matched only to offers made to the worker the sending number belongs to: a code alone
accepts nothing, and a number that sends many wrong codes is not answered for a while."""

import re
import secrets
import unicodedata
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone

from backend.core.errors import DomainError
from backend.core.events import event_record
from backend.core.i18n import language_for_user
from backend.telephony.services import notify
from backend.telephony.templates import render
from providers.models import Worker

from .models import JobOffer, OfferState, Priority, RequestState
from .services import offer_accept
from .services._core import _display_tz, _lock_request, _offer_recipients

CODE_DIGITS = 6
REPLY = re.compile(r"^\s*(\d{6})\s*$")
# Wrong codes a number may send in WRONG_CODES_WINDOW_S before its replies are ignored.
WRONG_CODES_MAX = 5
WRONG_CODES_WINDOW_S = 3600


def offer_opened(*, offer: JobOffer) -> JobOffer:
    """The worker's app opened the offer (the first time counts). Precondition: `offer` is the
    signed-in worker's own (the view found it through `offers_for_user`)."""
    with transaction.atomic():
        updated = JobOffer.objects.filter(pk=offer.pk, opened_at__isnull=True).update(
            opened_at=timezone.now()
        )
        offer.refresh_from_db(fields=["opened_at"])
        if updated:
            event_record(
                kind="offer.opened",
                subject_type="offer",
                subject_id=offer.pk,
                after=offer.state,
                district_id=offer.request.district_id,
                data={"request": offer.request_id},
            )
    return offer


def offers_unopened() -> QuerySet[JobOffer]:
    """Offers to a worker, pending, not opened by the app and not texted, whose grace has passed
    (the sweeper): ANXIN["OFFER_SMS_AFTER_S"], or half the offer's time if that is sooner (an
    emergency's offers wait 30 s)."""
    now = timezone.now()
    halfway = ExpressionWrapper(
        F("sent_at") + (F("expires_at") - F("sent_at")) / 2, output_field=DateTimeField()
    )
    return (
        JobOffer.objects.alias(halfway=halfway)
        .filter(
            state=OfferState.PENDING,
            opened_at__isnull=True,
            sms_sent_at__isnull=True,
            worker__isnull=False,
        )
        .filter(
            Q(sent_at__lte=now - timedelta(seconds=settings.ANXIN["OFFER_SMS_AFTER_S"]))
            | Q(halfway__lte=now)
        )
    )


def offer_sms_send(*, offer_id: int) -> bool:
    """Text an unopened offer to its worker, with a new code. Under the work order's lock and
    checked again; True if it was sent."""
    request_id = JobOffer.objects.filter(pk=offer_id).values_list("request_id", flat=True).first()
    if request_id is None:
        return False
    with transaction.atomic():
        sr = _lock_request(request_id, skip_locked=True)
        if sr is None or sr.state != RequestState.OFFERED:
            return False
        offer = offers_unopened().select_related("worker").filter(pk=offer_id).first()
        if offer is None or offer.worker is None:
            return False
        offer.request = sr
        _code_assign(offer)
        local = timezone.localtime(sr.window_start, timezone=_display_tz())
        notify(
            event=f"offer.sms:{offer.pk}",
            to=offer.worker.phone.as_e164,
            channel="sms",
            template="sms.offer" if settings.ANXIN["SMS_REPLIES"] else "sms.offer_open_app",
            params={
                "service": {"en": sr.service_type.name, "zh-hans": sr.service_type.name_zh},
                "time": local.strftime("%m-%d %H:%M"),
                "reference": sr.reference or "",
                "code": offer.sms_code,
            },
            language=language_for_user(offer.worker.user),
            urgency="emergency" if sr.priority == Priority.EMERGENCY else "routine",
            quiet_hours=False,  # an offer waits minutes, not until morning
        )
        event_record(
            kind="offer.texted",
            subject_type="offer",
            subject_id=offer.pk,
            after=offer.state,
            district_id=sr.district_id,
            recipients=_offer_recipients(offer),
            data={"request": sr.pk, "replies": bool(settings.ANXIN["SMS_REPLIES"])},
        )
        return True


def _code_assign(offer: JobOffer) -> None:
    """A fresh random code, unique among live offers (the database refuses a clash: try another)."""
    for _ in range(10):
        offer.sms_code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        offer.sms_sent_at = timezone.now()
        try:
            with transaction.atomic():
                offer.save(update_fields=["sms_code", "sms_sent_at"])
            return
        except IntegrityError:
            continue
    raise RuntimeError("No free offer code after 10 tries")


def offer_sms_reply(from_number: str, body: str) -> str | None:
    """A worker's reply with an offer's code: accept it through `offer_accept`, as the app
    would, and answer with how it went. None when the message is not a code from a worker's
    number (another handler may take it)."""
    found = REPLY.match(unicodedata.normalize("NFKC", body))
    if found is None:
        return None
    workers = workers_by_phone(from_number)
    if not workers:
        return None
    language = language_for_user(workers[0].user)
    wrong_key = f"offer-sms-wrong:{from_number}"
    if (cache.get(wrong_key) or 0) >= WRONG_CODES_MAX:
        return None
    offer = (
        JobOffer.objects.select_related("request", "worker__user")
        .filter(sms_code=found.group(1), worker__in=workers)
        .order_by("-sms_sent_at")
        .first()
    )
    if offer is None or offer.worker is None:
        _count_wrong(wrong_key)
        return render("sms_reply.unknown_code", {}, language)
    params: dict[str, Any] = {"reference": offer.request.reference or ""}
    try:
        offer_accept(offer_id=offer.pk, user=offer.worker.user)
    except DomainError:  # taken by someone else, expired, withdrawn, worker at capacity
        return render("sms_reply.taken", params, language)
    return render("sms_reply.accepted", params, language)


def workers_by_phone(phone: str) -> list[Worker]:
    """The active workers whose phone or second phone is `phone` (E.164), oldest first: the one
    lookup of a worker by a number that wrote to us (an offer's code, an SMS nothing took)."""
    return list(
        Worker.objects.select_related("user", "provider")
        .filter(Q(phone=phone) | Q(alt_phone=phone), user__is_active=True)
        .order_by("pk")
    )


def _count_wrong(key: str) -> None:
    if cache.add(key, 1, timeout=WRONG_CODES_WINDOW_S):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=WRONG_CODES_WINDOW_S)
