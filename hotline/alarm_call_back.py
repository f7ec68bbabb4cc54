"""An operator calls an elder back from an alarm (报警回拨), through the hotline's telephone.

Monitoring centres first call back: most alarms are pressed by accident. The platform rings the
operator's own registered phone first; when the operator answers, it says which elder and alarm
it is (in the operator's language, telephony templates `call.alarm_call_back*`) and asks them to
press 1, so that a voicemail box never calls an elder; on 1 it dials the elder's mobile (else
landline) with the district's hotline number as the caller ID and puts the two through
(hotline/alarm_call_back_hooks.py answers Twilio).

- **One at a time:** an alarm has at most one call-back in progress (a partial unique
  constraint backs the check made under the alarm's lock); another is refused with 409.
- **Committed first:** the call-back row commits before Twilio is asked to ring the operator,
  with no lock held while it answers; Twilio refusing ends it as `not_placed` (503, the alarm as
  it was); no answer in time leaves it `placing` (503 too, and again for a retry with the same
  Idempotency-Key), for Twilio's status callbacks or the sweep to settle. A call-back that ends
  without the network known to have taken its call (no SID, no report) frees its key.
- **Whoever presses 1 owns the alarm:** when the operator, on their phone, presses 1 (a person
  heard the alarm and is calling the elder), an alarm nobody acknowledged is acknowledged for
  them, through `alarms.services.alarm_acknowledge`; it is then no longer re-sent nor
  dispatched by the platform. Until then (the operator's phone ringing, a voicemail box, a
  wrong number) the alarm keeps escalating as if nobody called. An alarm someone else
  acknowledged may be called back by any of the district's staff; it stays theirs.
- **Any order, any number of times:** what Twilio reports of each leg is kept as facts on the
  row (each leg's status ranked, so only a later status moves it and a final one stays; when the
  operator answered, pressed 1, the elder answered), and the state and outcome are derived from
  them by one pure function (`call_back_progress`). A repeat changes nothing; a report that comes
  after the end and says more (the elder's own final status after the operator's) corrects the
  outcome, told as a second `alarm.call_back_ended` with `corrected_from`.
- **Every call-back ends:** the sweep (hotline.tasks.calls_sweep) ends one whose news stopped:
  `placing` for 60 s, ringing or waiting for the 1 for ANXIN["CALL_FINAL_STATUS_WITHIN_S"],
  talking for 4 hours (Twilio's longest call).

Each change of state is an event on the alarm, `alarm.call_back_<state>` (subject the alarm,
`after` the call-back's state, `data.call_back` its id), pushed to the district's staff.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alarms.models import Alarm, AlarmState
from alarms.services import alarm_acknowledge
from backend.accounts.models import User
from backend.core.errors import RuleViolation, StateConflict
from backend.core.events import event_record
from backend.core.i18n import language_for_user, platform_language
from backend.core.idempotency import IdempotencyKeyReused
from backend.telephony.backends import get_backend, hook_url
from backend.telephony.errors import ProviderError
from backend.telephony.models import Channel
from backend.telephony.services import (
    FINAL_RANK,
    NO_FINAL_STATUS,
    STALE_SENDING,
    STATUS_RANKS,
    call_final_status_within,
)
from backend.telephony.templates import per_language, render
from elders.models import Elder

from .models import (
    CALL_BACK_IN_PROGRESS,
    CALL_BACK_ONE_AT_A_TIME,
    AlarmCallBack,
    AlarmCallBackOutcome,
    AlarmCallBackState,
    ElderLine,
    HotlineNumber,
)
from .services import TelephonyUnavailable, operator_phone_required

log = structlog.get_logger(__name__)

S = AlarmCallBackState
O = AlarmCallBackOutcome  # noqa: E741

# What the operator hears the alarm called.
KIND_SPOKEN = {
    "sos": gettext_lazy("SOS button pressed"),
    "fall": gettext_lazy("a fall detected"),
    "no_movement": gettext_lazy("no movement for too long"),
    "smoke": gettext_lazy("smoke detected"),
    "gas": gettext_lazy("gas detected"),
}
LINE_SPOKEN = {
    ElderLine.MOBILE: gettext_lazy("mobile"),
    ElderLine.LANDLINE: gettext_lazy("landline"),
}

RANKS = STATUS_RANKS[Channel.CALL]
FINAL = FINAL_RANK[Channel.CALL]
# <Dial>'s DialCallStatus, as the elder's leg's CallStatus.
DIAL_STATUSES = {
    "completed": "completed",
    "answered": "completed",
    "busy": "busy",
    "no-answer": "no-answer",
    "failed": "failed",
    "canceled": "canceled",
}
# How the call-back ends, from the elder's leg's final status ...
ELDER_ENDINGS = {
    "completed": O.ANSWERED,
    "busy": O.BUSY,
    "no-answer": O.NO_ANSWER,
    "failed": O.FAILED,
    "canceled": O.OPERATOR_HUNG_UP,  # the operator hung up while the elder's phone rang
}
# ... or, the elder never dialled, from the operator's ("completed": answered, 1 not pressed).
OPERATOR_ENDINGS = {
    "completed": O.OPERATOR_NO_ANSWER,
    "busy": O.OPERATOR_NO_ANSWER,
    "no-answer": O.OPERATOR_NO_ANSWER,
    "canceled": O.OPERATOR_NO_ANSWER,
    "failed": O.FAILED,
}
# The sweep: a call still talking after this lost its end (Twilio ends every call by then).
LONGEST_CALL = timedelta(hours=4)
SWEEP_BATCH = 200
OPERATOR, ELDER = "operator", "elder"


@dataclass(frozen=True)
class Started:
    call_back: AlarmCallBack
    replayed: bool  # the same Idempotency-Key again: the call-back it started, as it stands


def alarm_call_back_start(*, alarm_id: int, user: User, idempotency_key: str = "") -> Started:
    """Call the alarm's elder back from `user`'s phone. Run outside any transaction: the row
    commits before Twilio is asked (Twilio may report on the call at once), and no lock is held
    while it answers. The caller has checked that `user` is staff of the alarm's district.

    Refused: a closed alarm, or one with a call-back in progress (409); no registered phone for
    the operator, or none for the elder (422). Twilio refusing the call ends the call-back as
    `not_placed` and raises TelephonyUnavailable (503), the alarm untouched and the key free for
    a retry; Twilio not answering in time raises it too, the call-back left `placing` (the
    operator's phone may still ring). `idempotency_key`: the same key again is the same
    call-back, answered as it stands (the same 503 while it is still `placing`); a call-back
    that ended without the network known to have taken its call frees its key."""
    started = _call_back_write(alarm_id=alarm_id, user=user, key=idempotency_key)
    if started.replayed:
        if started.call_back.state == S.PLACING:  # the first is still not answered: the same
            raise _not_answered(started.call_back)
        return started
    call_back = started.call_back
    try:
        sid = get_backend().place_call(
            to=call_back.operator_phone,
            url=hook_url("call-back", step="answered", cb=call_back.pk),
            status_url=hook_url("call-back", step="status", cb=call_back.pk),
            template="call.alarm_call_back",
            params=spoken_params(call_back),
            language=language_for_user(user),
        )
    except ProviderError as error:
        log.warning("alarm_call_back_refused", call_back=call_back.pk, code=error.code)
        _not_placed(call_back.pk, code=error.code)
        raise TelephonyUnavailable(
            _(
                "The telephone network refused the call (%(code)s): nothing was placed and the "
                "alarm is as it was. Try again, or phone the elder another way."
            )
            % {"code": error.code},
            current_state=S.ENDED,
            call_back=call_back.pk,
        ) from error
    except Exception as error:  # no answer in time: Twilio may be ringing the operator anyway
        log.warning("alarm_call_back_unknown", call_back=call_back.pk, exc_info=True)
        raise _not_answered(call_back) from error
    return Started(call_back=_placed(call_back.pk, sid=sid), replayed=False)


def _not_answered(call_back: AlarmCallBack) -> TelephonyUnavailable:
    """503 for a call-back still `placing`: whether the network took the call is not known."""
    return TelephonyUnavailable(
        _(
            "The telephone network did not answer in time: your phone may still ring. If it "
            "does not within a minute, the call-back ends by itself; then try again."
        ),
        current_state=S.PLACING,
        call_back=call_back.pk,
    )


def _call_back_write(*, alarm_id: int, user: User, key: str) -> Started:
    """The call-back's row, committed, after the checks made under the alarm's lock (which also
    orders two requests for one alarm, so a retry with the same key finds the first's row)."""
    with transaction.atomic():
        alarm = _alarm_locked(alarm_id)
        if key:
            kept = _kept(user, key, alarm_id)
            if kept is not None:
                return Started(call_back=kept, replayed=True)
        if alarm.state == AlarmState.CLOSED:
            raise StateConflict(
                _("This alarm is closed: call back from the hotline's call-backs instead."),
                current_state=alarm.state,
                code="alarm_closed",
            )
        operator_phone = operator_phone_required(
            user,
            message=_("Register your phone number first: a call-back rings it before the elder's"),
            field_message=_("required to call back"),
        )
        elder_phone, line = _elder_number(alarm.elder)
        _refuse_if_in_progress(alarm)
        try:
            with transaction.atomic():
                call_back = AlarmCallBack.objects.create(
                    alarm=alarm,
                    operator=user,
                    operator_phone=operator_phone,
                    elder_phone=elder_phone,
                    line=line,
                    caller_id=_caller_id(alarm.district_id),
                    idempotency_key=key,
                )
        except IntegrityError as error:  # what the checks above missed, said as they say it
            kept = _kept(user, key, alarm_id) if key else None  # the key, on another alarm
            if kept is not None:
                return Started(call_back=kept, replayed=True)
            if _constraint(error) == CALL_BACK_ONE_AT_A_TIME:
                raise _in_progress_conflict(_in_progress(alarm)) from error
            raise
        call_back.alarm = alarm
        _event(alarm, call_back, before="", actor=user)
    return Started(call_back=call_back, replayed=False)


def _alarm_locked(alarm_id: int) -> Alarm:
    return Alarm.objects.select_for_update(of=("self",)).select_related("elder").get(pk=alarm_id)


def _kept(user: User, key: str, alarm_id: int) -> AlarmCallBack | None:
    """The call-back `user` started with `key`, if any; the key used for another alarm is 422.
    A call-back that ended without the network known to have taken its call answers nothing:
    its key is free (and freed here if an older row still holds it)."""
    kept = (
        AlarmCallBack.objects.select_related("alarm__elder")
        .filter(operator=user, idempotency_key=key)
        .first()
    )
    if kept is not None and _key_free(kept):
        AlarmCallBack.objects.filter(pk=kept.pk).update(idempotency_key="")
        return None
    if kept is not None and kept.alarm_id != alarm_id:
        raise IdempotencyKeyReused(
            _("This Idempotency-Key was used with a different request body.")
        )
    return kept


def _elder_number(elder: Elder) -> tuple[str, str]:
    """The elder's mobile, else their landline (E.164), and which it is; 422 with neither."""
    if elder.phone:
        return str(elder.phone.as_e164), ElderLine.MOBILE
    if elder.landline:
        return str(elder.landline.as_e164), ElderLine.LANDLINE
    raise RuleViolation(
        _(
            "%(elder)s has no mobile or landline on file: reach them through their contacts, or "
            "dispatch help."
        )
        % {"elder": elder.full_name},
        code="elder_phone_missing",
        fields={"elder.phone": [_("no mobile or landline on file")]},
    )


def _refuse_if_in_progress(alarm: Alarm) -> None:
    """Precondition: the caller holds the alarm's lock."""
    current = _in_progress(alarm)
    if current is not None:
        raise _in_progress_conflict(current)


def _in_progress(alarm: Alarm) -> AlarmCallBack | None:
    return (
        AlarmCallBack.objects.select_related("operator")
        .filter(alarm=alarm, state__in=CALL_BACK_IN_PROGRESS)
        .first()
    )


def _in_progress_conflict(current: AlarmCallBack | None) -> StateConflict:
    """409: another call-back of the alarm is in progress (`current`; None if it is already
    over again, when only the constraint saw it)."""
    if current is None:
        return StateConflict(
            _("Someone else started calling this alarm back at the same moment."),
            current_state=S.PLACING,
            code="call_back_in_progress",
        )
    return StateConflict(
        _("%(name)s is already calling this alarm back (%(state)s).")
        % {"name": current.operator.username, "state": current.state},
        current_state=current.state,
        code="call_back_in_progress",
        call_back=current.pk,
        operator=current.operator.username,
    )


def _constraint(error: IntegrityError) -> str:
    """The name of the constraint PostgreSQL says `error` broke ("" if it says none)."""
    diag = getattr(error.__cause__, "diag", None)
    return str(getattr(diag, "constraint_name", "") or "")


def _caller_id(district_id: int) -> str:
    """What the elder's phone shows: the district's hotline number (the first, if several), so
    that a call back is answered and can be returned; else the platform's own number."""
    number = (
        HotlineNumber.objects.filter(district_id=district_id)
        .order_by("pk")
        .values_list("number", flat=True)
        .first()
    )
    if number:
        return str(number)
    log.warning("alarm_call_back_no_hotline_number", district=district_id)
    return str(settings.TWILIO_FROM_NUMBER)


def _placed(call_back_id: int, *, sid: str) -> AlarmCallBack:
    """Twilio took the call: its SID, and the call-back ringing the operator (unless its status
    callbacks have already said more)."""
    with transaction.atomic():
        alarm, call_back = _locked(call_back_id)
        if not call_back.call_sid:
            call_back.call_sid = sid
            call_back.save(update_fields=["call_sid", "updated_at"])
        elif call_back.call_sid != sid:
            log.error("alarm_call_back_sid_differs", call_back=call_back.pk)
        _settle(alarm, call_back)
        return call_back


def _not_placed(call_back_id: int, *, code: str) -> None:
    """Twilio refused the call: the call-back ends (which frees its Idempotency-Key: a refused
    request is not an answer to replay)."""
    with transaction.atomic():
        alarm, call_back = _locked(call_back_id)
        if call_back.state != S.PLACING:
            return
        call_back.error_code = code[:40]
        _move(alarm, call_back, S.ENDED, O.NOT_PLACED, data={"error_code": code[:40]})


def _locked(call_back_id: int) -> tuple[Alarm, AlarmCallBack]:
    """The alarm, then its call-back, locked in that order (as everywhere)."""
    alarm_id = AlarmCallBack.objects.values_list("alarm_id", flat=True).get(pk=call_back_id)
    alarm = _alarm_locked(alarm_id)
    call_back = (
        AlarmCallBack.objects.select_for_update(of=("self",))
        .select_related("operator")
        .get(pk=call_back_id)
    )
    call_back.alarm = alarm
    return alarm, call_back


# The state, from what Twilio reported ---------------------------------------------------------


def _rank(status: str) -> int:
    return RANKS.get(status, 0)


def call_back_progress(call_back: AlarmCallBack) -> tuple[str, str]:
    """The call-back's state and outcome from the facts on its row alone (pure): the same facts
    in whatever order they came give the same answer."""
    elder, operator = call_back.elder_status, call_back.operator_status
    if _rank(elder) == FINAL:
        return S.ENDED, ELDER_ENDINGS[elder]
    if _rank(operator) == FINAL:
        if call_back.elder_answered_at is not None:
            return S.ENDED, O.ANSWERED  # their conversation ended on the operator's side
        if call_back.confirmed_at is not None or elder:
            return S.ENDED, O.OPERATOR_HUNG_UP
        return S.ENDED, OPERATOR_ENDINGS[operator]
    if call_back.elder_answered_at is not None:
        return S.CONNECTED, ""
    if call_back.confirmed_at is not None or elder:
        return S.RINGING_ELDER, ""
    if call_back.operator_answered_at is not None:
        return S.OPERATOR_ANSWERED, ""
    if call_back.call_sid or operator:
        return S.RINGING_OPERATOR, ""
    return S.PLACING, ""


def _settle(alarm: Alarm, call_back: AlarmCallBack) -> None:
    """Precondition: both locked, the facts saved. Move to the state the facts say. An ended
    call-back stays ended (the sweep or a refusal may have ended it); a final status that comes
    after and says otherwise corrects its outcome."""
    state, outcome = call_back_progress(call_back)
    if call_back.state == S.ENDED:
        if state == S.ENDED and outcome != call_back.outcome:
            corrected = call_back.outcome
            call_back.outcome = outcome
            call_back.save(update_fields=["outcome", "updated_at"])
            _event(alarm, call_back, before=S.ENDED, data={"corrected_from": corrected})
        return
    if state != call_back.state:
        _move(alarm, call_back, state, outcome)


def _move(
    alarm: Alarm,
    call_back: AlarmCallBack,
    state: str,
    outcome: str,
    *,
    data: dict[str, Any] | None = None,
) -> None:
    """Precondition: both locked. The one place a call-back changes state, with its event; one
    that ends without the network known to have taken its call frees its Idempotency-Key (a
    retry with it is a new call-back, not a replay of one that never rang)."""
    before = call_back.state
    call_back.state, call_back.outcome = state, outcome
    if state == S.ENDED:
        call_back.ended_at = timezone.now()
        if _key_free(call_back):
            call_back.idempotency_key = ""
    call_back.save()
    _event(alarm, call_back, before=before, data=data)


def _taken(call_back: AlarmCallBack) -> bool:
    """The telephone network is known to have taken the call: its SID, or a report of a leg."""
    return bool(call_back.call_sid or call_back.operator_status or call_back.elder_status)


def _key_free(call_back: AlarmCallBack) -> bool:
    """An ended call-back whose call the network is not known to have taken answers no retry."""
    return call_back.state == S.ENDED and not _taken(call_back)


def _acknowledge_for_caller(alarm: Alarm, call_back: AlarmCallBack) -> None:
    """Precondition: the alarm is locked. The operator pressed 1 (a person heard the alarm and
    is calling the elder): an alarm nobody acknowledged becomes theirs, and is no longer re-sent
    nor dispatched by the platform. One a colleague acknowledged stays the colleague's."""
    if alarm.state == AlarmState.OPEN and alarm.acknowledged_by_id is None:
        alarm_acknowledge(alarm_id=alarm.pk, user=call_back.operator)
        alarm.refresh_from_db(fields=["state", "acknowledged_by", "acknowledged_at"])


def _event(
    alarm: Alarm,
    call_back: AlarmCallBack,
    *,
    before: str,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    event_record(
        kind=f"alarm.call_back_{call_back.state}",
        subject_type="alarm",
        subject_id=alarm.pk,
        actor=actor,
        before=before,
        after=call_back.state,
        district_id=alarm.district_id,
        data={
            "call_back": call_back.pk,
            "by": call_back.operator.username,
            "elder_id": alarm.elder_id,
            "line": call_back.line,
            "outcome": call_back.outcome,
            "operator_status": call_back.operator_status,
            "elder_status": call_back.elder_status,
            **(data or {}),
        },
    )


# What Twilio reports (hotline/alarm_call_back_hooks.py) ---------------------------------------


def call_back_heard(
    *,
    call_back_id: int,
    leg: str,
    call_sid: str,
    status: str = "",
    operator_answered: bool = False,
    confirmed: bool = False,
) -> AlarmCallBack | None:
    """Keep what Twilio reported of one leg of the call-back (`leg`: "operator", the call the
    platform placed, or "elder", the <Dial>'s), and settle its state. Only a status ranked above
    the leg's recorded one moves it; a report about another call (a SID that is not the leg's)
    changes nothing. The operator's 1 (`confirmed`) acknowledges the alarm for them. None if
    there is no such call-back."""
    with transaction.atomic():
        if not AlarmCallBack.objects.filter(pk=call_back_id).exists():
            return None
        alarm, call_back = _locked(call_back_id)
        sid_field, status_field = (
            ("call_sid", "operator_status")
            if leg == OPERATOR
            else ("elder_call_sid", "elder_status")
        )
        known = getattr(call_back, sid_field)
        if known and call_sid and known != call_sid:
            log.warning("alarm_call_back_other_call", call_back=call_back.pk, leg=leg)
            return call_back
        now = timezone.now()
        changed = _facts(call_back, leg, status_field, status, operator_answered, confirmed, now)
        if call_sid and not known:
            setattr(call_back, sid_field, call_sid)
            changed.append(sid_field)
        if changed:
            call_back.save(update_fields=[*changed, "updated_at"])
            _settle(alarm, call_back)
        if "confirmed_at" in changed:
            _acknowledge_for_caller(alarm, call_back)
        return call_back


def _facts(
    call_back: AlarmCallBack,
    leg: str,
    status_field: str,
    status: str,
    operator_answered: bool,
    confirmed: bool,
    now: datetime,
) -> list[str]:
    """Write the new facts on the row (not saved); the names of the fields changed. A status
    may tell late what happened before the end; the operator's phone asking for the call's
    TwiML, or their 1, after the end belong to no call-back (they hear it is over)."""
    changed = []
    current = getattr(call_back, status_field)
    if _rank(status) > _rank(current) and _rank(current) != FINAL:
        setattr(call_back, status_field, status)
        changed.append(status_field)
    live = call_back.state != S.ENDED
    answered = {OPERATOR: "operator_answered_at", ELDER: "elder_answered_at"}[leg]
    picked_up = status == "in-progress" or (leg == ELDER and status == "completed")
    if (picked_up or (operator_answered and live)) and getattr(call_back, answered) is None:
        setattr(call_back, answered, now)
        changed.append(answered)
    if confirmed and live and call_back.confirmed_at is None:
        call_back.confirmed_at = now
        changed.append("confirmed_at")
    return changed


def call_back_dial_ended(
    *, call_back_id: int, dial_status: str, dial_call_sid: str
) -> AlarmCallBack | None:
    """The <Dial> to the elder ended (its action): its DialCallStatus is the elder's leg's final
    status, as the leg's own status callback may also say."""
    status = DIAL_STATUSES.get(dial_status, "")
    return call_back_heard(
        call_back_id=call_back_id, leg=ELDER, call_sid=dial_call_sid, status=status
    )


def call_back_read(call_back_id: int) -> AlarmCallBack | None:
    return (
        AlarmCallBack.objects.select_related("alarm__elder", "operator")
        .filter(pk=call_back_id)
        .first()
    )


# The sweep (hotline.tasks.calls_sweep): call-backs whose news stopped --------------------------


def alarm_call_backs_unheard(now: datetime) -> QuerySet[AlarmCallBack]:
    ringing = [S.RINGING_OPERATOR, S.OPERATOR_ANSWERED, S.RINGING_ELDER]
    return AlarmCallBack.objects.filter(
        Q(state=S.PLACING, updated_at__lt=now - STALE_SENDING)
        | Q(state__in=ringing, updated_at__lt=now - call_final_status_within())
        | Q(state=S.CONNECTED, updated_at__lt=now - LONGEST_CALL)
    ).order_by("updated_at")


def alarm_call_back_give_up(*, call_back_id: int) -> bool:
    """End a call-back nothing more was heard of: answered if the elder had answered, else of
    unknown outcome (a late final status still corrects it). False if news came meanwhile, or
    another holds it."""
    with transaction.atomic():
        alarm_id = (
            AlarmCallBack.objects.filter(pk=call_back_id).values_list("alarm_id", flat=True).first()
        )
        if alarm_id is None:
            return False
        alarm = (
            Alarm.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=alarm_id)
            .first()
        )
        call_back = (
            alarm_call_backs_unheard(timezone.now())
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("operator")
            .filter(pk=call_back_id)
            .first()
        )
        if alarm is None or call_back is None:
            return False
        call_back.error_code = NO_FINAL_STATUS
        outcome = O.ANSWERED if call_back.elder_answered_at is not None else O.UNKNOWN
        _move(alarm, call_back, S.ENDED, outcome, data={"error_code": NO_FINAL_STATUS})
        return True


def alarm_call_backs_sweep() -> int:
    """Each call-back its own transaction; one that fails is logged and left for the next run."""
    ended = 0
    ids = alarm_call_backs_unheard(timezone.now()).values_list("pk", flat=True)[:SWEEP_BATCH]
    for pk in list(ids):
        try:
            ended += int(alarm_call_back_give_up(call_back_id=pk))
        except Exception:
            log.exception("alarm_call_back_sweep_failed", call_back=pk)
    return ended


# What the operator hears ---------------------------------------------------------------------


_NO_PARAMS: Mapping[str, Any] = {}


def spoken_params(call_back: AlarmCallBack) -> dict[str, Any]:
    """The parameters of the `call.alarm_call_back*` templates (the alarm and its elder)."""
    alarm = call_back.alarm
    received = alarm.received_at.astimezone(ZoneInfo(settings.DISPLAY_TIME_ZONE))
    return {
        "kind": per_language(KIND_SPOKEN.get(alarm.kind, alarm.kind)),
        "elder": alarm.elder.full_name,
        "address": alarm.elder.address,
        "time": received.strftime("%H:%M"),
        "line": per_language(LINE_SPOKEN[ElderLine(call_back.line)]),
    }


def spoken(
    call_back: AlarmCallBack | None, template: str, extra: Mapping[str, Any] = _NO_PARAMS
) -> tuple[str, str]:
    """A template's text for the operator of `call_back`, and its language (the operator's own,
    else the platform's: Chinese unless set otherwise)."""
    if call_back is None:
        language = platform_language()
        return render(template, _NO_PARAMS, language), language
    language = language_for_user(call_back.operator)
    return render(template, {**spoken_params(call_back), **extra}, language), language


def alarm_owner_template(alarm: Alarm, operator_id: int) -> str:
    """Whose the alarm is now, as the operator of a call-back hears it when the elder was not
    reached: pressing 1 acknowledges only an open alarm nobody has, so it may be theirs, a
    colleague's, closed by then, or nobody's."""
    if alarm.state == AlarmState.CLOSED:
        return "call.alarm_call_back_closed"
    if alarm.acknowledged_by_id is None:
        return "call.alarm_call_back_unacknowledged"
    if alarm.acknowledged_by_id == operator_id:
        return "call.alarm_call_back_yours"
    return "call.alarm_call_back_colleagues"


def spoken_owner(call_back: AlarmCallBack) -> tuple[str, str]:
    """Whose the alarm is now (alarm_owner_template), for the operator of `call_back`."""
    alarm = call_back.alarm
    template = alarm_owner_template(alarm, call_back.operator_id)
    colleague = alarm.acknowledged_by if template == "call.alarm_call_back_colleagues" else None
    name = (colleague.get_full_name() or colleague.username) if colleague else ""
    return spoken(call_back, template, {"colleague": name})
