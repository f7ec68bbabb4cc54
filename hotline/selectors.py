"""Reads of the hotline, scoped to the caller's district."""

from typing import Any

from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When

from backend.accounts.models import User
from elders.models import Elder
from elders.selectors import elder_caller_card, elders_matching_phone, phone_to_e164

from .models import WAITING_STATES, Call, CallBack, CallBackState, CallPriority

ELDER_CARD_FIELDS = (
    "id",
    "district_id",
    "full_name",
    "gender",
    "birth_date",
    "address",
    "phone",
    "landline",
    "status",
)


def calls_visible_to(user: User) -> QuerySet[Call]:
    """District staff: their district's calls, with the elders each matched."""
    return (
        Call.objects.filter(district_id=user.staff_district_id)
        .select_related("taken_by", "request")
        .prefetch_related(
            Prefetch("elders", queryset=Elder.objects.only(*ELDER_CARD_FIELDS).order_by("pk"))
        )
    )


def calls_waiting(user: User) -> QuerySet[Call]:
    """The operators' live list: callers waiting for a person, emergencies first, then by
    arrival in the queue."""
    emergency_first = Case(
        When(priority=CallPriority.EMERGENCY, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return (
        calls_visible_to(user)
        .filter(state__in=WAITING_STATES)
        .order_by(emergency_first, "queued_at", "pk")
    )


def call_elder_cards(call: Call) -> list[dict[str, Any]]:
    """The elders the caller's number matched, as staff see a caller (the screen pop's cards)."""
    e164 = phone_to_e164(call.from_number)
    cards = []
    for elder in call.elders.all():
        if e164 and str(elder.phone) == e164:
            how = "mobile"
        elif e164 and str(elder.landline) == e164:
            how = "landline"
        else:
            how = "contact"
        cards.append(elder_caller_card(elder, how))
    return cards


def call_backs_visible_to(
    user: User, *, state: str | None = None, open_only: bool = True
) -> QuerySet[CallBack]:
    """The district's call-back tasks, oldest first: in `state`, else (`open_only`) those not
    yet closed."""
    qs = CallBack.objects.filter(district_id=user.staff_district_id).select_related(
        "call", "sms", "taken_by", "closed_by"
    )
    if state:
        qs = qs.filter(state=state)
    elif open_only:
        qs = qs.exclude(state__in=(CallBackState.CLOSED, CallBackState.CANCELLED))
    return qs.prefetch_related(
        Prefetch("call__elders", queryset=Elder.objects.only(*ELDER_CARD_FIELDS).order_by("pk"))
    ).order_by("created_at", "pk")


def call_back_elder_cards(back: CallBack) -> list[dict[str, Any]]:
    """The elders a call-back's number matched: the call's, or for an SMS the district's elders
    the sender's number matches."""
    if back.call is not None:
        return call_elder_cards(back.call)
    found = elders_matching_phone(
        elders=Elder.objects.filter(district_id=back.district_id).only(*ELDER_CARD_FIELDS),
        phone=back.from_number,
    )
    return [elder_caller_card(elder, how) for elder, how in found]
