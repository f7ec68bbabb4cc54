"""Outbound notifications: the notification log and its delivery policy.

Every outbound SMS and call is first a `Notification` row keyed by (event, recipient, channel,
attempt). Twilio takes no idempotency key, so a request that reaches Twilio twice is two
messages; what is safe to repeat is decided here, from the row, by urgency:

- Routine (`Urgency.ROUTINE`): AT MOST ONCE. The delivery marks the row "sending" and commits
  BEFORE it calls the backend. A retried or redelivered task that finds the row sending, sent or
  ended does nothing. An error, whether Twilio refused or the outcome is unknown (a timeout, a
  worker killed mid-request), marks the row failed; it is never sent again.
- Emergency (`Urgency.EMERGENCY`, calls above all): AT LEAST ONCE. A failure, or a row left
  "sending" longer than any request can take (its worker died: the outcome is unknown), ends
  that attempt as failed and places the next one (attempt + 1), up to
  ANXIN["NOTIFY_EMERGENCY_ATTEMPTS"]. A recipient may get a call twice; never none.
- Either way, a permanent refusal (errors.ProviderError with `permanent`: an invalid or
  unreachable number) ends the row as failed with no further attempt, and its flow moves on at
  once: asking again cannot reach that number.

Routine rows wait out quiet hours (ANXIN["QUIET_HOURS"]) in `send_after`, never in a Celery
countdown; emergencies never wait. Delivery runs on the notify lane, emergencies' on the urgent
lane (backend/core/queues.py); the sweep (`notifications_sweep`, on beat) delivers rows as they
come due, re-sends a delivery whose task was lost, settles rows stuck in "sending", and ends
a call the provider took but never reported an end of within ANXIN["CALL_FINAL_STATUS_WITHIN_S"]
(its final status callback was lost: Twilio does not send it again) as not answered, so its
flow moves on. That bound is the one rule for a call nobody hears the end of.

Twilio's status callbacks (MessageStatus, CallStatus) arrive in any order: each status has a
rank per channel and only a higher rank moves the row; a final status stays.
"""

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from backend.accounts.models import District
from backend.core.events import event_record
from backend.core.logging import phone_tail
from backend.core.models import Event
from backend.core.side_effects import enqueue_after_commit

from . import flows, quiet_hours
from .backends import get_backend, status_url, voice_url
from .errors import ProviderError
from .models import Channel, Notification, NotificationState, Urgency
from .templates import params_redacted, template_check

log = structlog.get_logger(__name__)

State = NotificationState

# Longer than any request to the provider can take (twilio_backend.HTTP_TIMEOUT_S is 10 s): a
# row sending for longer lost its worker, and its outcome is unknown.
STALE_SENDING = timedelta(seconds=60)
# A pending, due row whose delivery task was sent this long ago was lost (a broker outage, a
# flooded lane): the sweep sends it again (the task does nothing if the first one ran).
REENQUEUE_AFTER = {Urgency.EMERGENCY: timedelta(seconds=30), Urgency.ROUTINE: timedelta(minutes=5)}
# An emergency's next attempt after a failure: at once, then waiting this much longer each time.
RETRY_STEP = timedelta(seconds=15)
SWEEP_BATCH = 200
# The error code of a call ended by the sweep because its final status never came.
NO_FINAL_STATUS = "no_final_status"
# A refusal about our own account or configuration tells the operators once per episode.
MISCONFIGURED = "telephony.misconfigured"
MISCONFIGURED_EPISODE = timedelta(minutes=30)
# A sweep's batch takes emergencies before anything routine, however many are waiting.
EMERGENCIES_FIRST = Case(When(urgency=Urgency.EMERGENCY, then=Value(0)), default=Value(1))
E164 = re.compile(r"^\+[1-9]\d{5,14}$")

# Twilio's statuses per channel, ranked in the order they happen; the highest rank is final.
STATUS_RANKS: dict[str, dict[str, int]] = {
    Channel.SMS: {
        "accepted": 1,
        "scheduled": 1,
        "queued": 1,
        "sending": 2,
        "sent": 3,
        "delivered": 4,
        "undelivered": 4,
        "failed": 4,
        "canceled": 4,
    },
    Channel.CALL: {
        "queued": 1,
        "initiated": 2,
        "ringing": 3,
        "in-progress": 4,
        "completed": 5,
        "busy": 5,
        "no-answer": 5,
        "failed": 5,
        "canceled": 5,
    },
}
FINAL_RANK: dict[str, int] = {Channel.SMS: 4, Channel.CALL: 5}
# Twilio's final CallStatus values (a call that ended, however): for whoever follows a call.
CALL_FINAL_STATUSES = frozenset(
    status
    for status, rank in STATUS_RANKS[Channel.CALL].items()
    if rank == FINAL_RANK[Channel.CALL]
)
STATUS_STATES: dict[str, State] = {
    "delivered": State.DELIVERED,
    "in-progress": State.DELIVERED,  # answered
    "completed": State.DELIVERED,
    "busy": State.UNANSWERED,
    "no-answer": State.UNANSWERED,
    "undelivered": State.FAILED,
    "failed": State.FAILED,
    "canceled": State.FAILED,
}


def notify(
    *,
    event: str,
    to: str,
    channel: str,
    template: str,
    params: Mapping[str, Any],
    language: str,
    urgency: str = Urgency.ROUTINE,
    flow: str = "",
    quiet_hours: bool | None = None,
) -> Notification:
    """Log an SMS or call to `to` about `event` and deliver it after commit (at once, or when
    quiet hours end). Idempotent: the same (event, to, channel) again returns the first row.

    `quiet_hours`: None or True, a routine message waits out ANXIN["QUIET_HOURS"]; False, it
    does not (it is about now). An emergency never waits. `flow`: a call that takes a keypad
    answer, registered with flows.register_flow."""
    to = str(to)
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if urgency not in Urgency.values:
        raise ValueError(f"unknown urgency {urgency!r}")
    if not E164.match(to):
        raise ValueError("the recipient must be an E.164 number")
    if flow and (channel != Channel.CALL or not flows.flow_registered(flow)):
        raise ValueError(f"{flow!r} is not a registered call flow")
    template_check(template, params)
    now = timezone.now()
    send_after = now
    if urgency == Urgency.ROUTINE and quiet_hours is not False:
        send_after = quiet_hours_end(now)
    due = send_after <= now
    try:
        with transaction.atomic():  # three statements: a savepoint, the row, its release
            notification = Notification.objects.create(
                event=event,
                recipient=to,
                channel=channel,
                attempt=1,
                template=template,
                params=dict(params),
                language=language or settings.LANGUAGE_CODE,
                urgency=urgency,
                flow=flow,
                send_after=send_after,
                enqueued_at=now if due else None,
            )
    except IntegrityError:  # told before: that row is the one
        return Notification.objects.get(event=event, recipient=to, channel=channel, attempt=1)
    log.info(
        "notification_logged",
        notification=notification.pk,
        channel=str(channel),
        template=template,
        to=phone_tail(to),
        waits=not due,
    )
    if due:
        _enqueue(notification)
    return notification


def quiet_hours_end(now: datetime) -> datetime:
    """When a routine message written at `now` may go (now, outside quiet hours)."""
    return quiet_hours.send_after(now, settings.ANXIN["QUIET_HOURS"])


def call_again(notification: Notification, *, after: timedelta | None = None) -> Notification:
    """The next attempt (attempt + 1) of the same call or SMS to the same recipient, delivered
    after commit (or after `after`). Idempotent: asking twice gives the same next row."""
    now = timezone.now()
    with transaction.atomic():
        follower, created = Notification.objects.get_or_create(
            event=notification.event,
            recipient=notification.recipient,
            channel=notification.channel,
            attempt=notification.attempt + 1,
            defaults={
                "template": notification.template,
                "params": notification.params,
                "language": notification.language,
                "urgency": notification.urgency,
                "flow": notification.flow,
                "send_after": now + (after or timedelta(0)),
            },
        )
        if created:
            log.info(
                "notification_again",
                notification=follower.pk,
                previous=notification.pk,
                attempt=follower.attempt,
            )
            _enqueue_if_due(follower, now)
    return follower


def _enqueue_if_due(notification: Notification, now: datetime) -> None:
    """Precondition: inside the transaction that wrote the row."""
    if notification.send_after > now:
        return  # the sweep delivers it when it comes due
    notification.enqueued_at = now
    notification.save(update_fields=["enqueued_at", "updated_at"])
    _enqueue(notification)


def _enqueue(notification: Notification) -> None:
    from .tasks import notification_deliver

    enqueue_after_commit(
        notification_deliver, notification.pk, urgent=notification.urgency == Urgency.EMERGENCY
    )


def notification_deliver(*, notification_id: int) -> str:
    """Hand one row to the backend, by the policy above. Returns what happened ("sent",
    "failed", "skipped"). Must run outside any transaction: the "sending" mark commits first."""
    notification = _claim(notification_id)
    if notification is None:
        return "skipped"
    try:
        sid = _hand_over(notification)
    except Exception as exc:  # refused, or unknown: the policy decides, never a blind retry
        permanent = isinstance(exc, ProviderError) and exc.permanent
        log.warning(
            "notification_failed",
            notification=notification.pk,
            error=type(exc).__name__,
            code=_error_code(exc),
            permanent=permanent,
        )
        _settle_failure(notification.pk, _error_code(exc), permanent=permanent)
        if isinstance(exc, ProviderError) and exc.misconfigured:
            misconfigured_alert(notification_id=notification.pk, code=exc.code)
        return "failed"
    with transaction.atomic():
        row = Notification.objects.select_for_update().get(pk=notification.pk)
        row.provider_sid = sid
        if row.state == State.SENDING:
            row.state, row.sent_at = State.SENT, timezone.now()
        row.params = params_redacted(row.template, row.params)  # the provider has it now
        row.save(update_fields=["provider_sid", "state", "sent_at", "params", "updated_at"])
    log.info("notification_sent", notification=notification.pk, attempt=notification.attempt)
    return "sent"


def _claim(notification_id: int) -> Notification | None:
    """Mark the row sending and commit, if it is pending and due; else None (another delivery
    has it, it already went, or it is not due). A row left sending by a dead worker is settled
    here too."""
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id)
            .first()
        )
        if row is None:
            return None
        now = timezone.now()
        if row.state == State.SENDING and row.sending_at and row.sending_at < now - STALE_SENDING:
            _fail(row, "outcome_unknown")
            return None
        if row.state != State.PENDING or row.send_after > now:
            return None
        row.state, row.sending_at = State.SENDING, now
        row.save(update_fields=["state", "sending_at", "updated_at"])
        return row


def _hand_over(notification: Notification) -> str:
    backend = get_backend()
    if notification.channel == Channel.SMS:
        return backend.send_sms(
            to=notification.recipient,
            template=notification.template,
            params=notification.params,
            language=notification.language,
            status_url=status_url(notification.pk),
        )
    return backend.place_call(
        to=notification.recipient,
        url=voice_url(notification.pk),
        status_url=status_url(notification.pk),
        template=notification.template,
        params=notification.params,
        language=notification.language,
    )


def _error_code(exc: BaseException) -> str:
    """The provider's error code when it gave one (Twilio's REST errors carry `code`), else
    the kind of error."""
    code = getattr(exc, "code", None)
    return str(code) if code else type(exc).__name__


def misconfigured_alert(*, notification_id: int, code: str) -> bool:
    """The provider refused a message because of our own account or configuration: logged at
    error level, and every district's staff get a `telephony.misconfigured` event, once per
    MISCONFIGURED_EPISODE (each refusal after that is only logged). True if the event went."""
    log.error("telephony_misconfigured", notification=notification_id, code=code)
    since = timezone.now() - MISCONFIGURED_EPISODE
    with transaction.atomic():
        if Event.objects.filter(kind=MISCONFIGURED, at__gte=since).exists():
            return False
        message = gettext(
            "The SMS and call provider refused a message because of our own account or "
            "configuration (code %(code)s): SMS and calls may not be going out. Tell the "
            "administrator; phone the people concerned in the meantime."
        ) % {"code": code}
        for district_id in District.objects.order_by("pk").values_list("pk", flat=True):
            event_record(
                kind=MISCONFIGURED,
                subject_type="notification",
                subject_id=notification_id,
                after="misconfigured",
                district_id=district_id,
                data={"code": code, "message": message},
            )
    return True


def _settle_failure(notification_id: int, code: str, *, permanent: bool = False) -> None:
    with transaction.atomic():
        row = Notification.objects.select_for_update().get(pk=notification_id)
        if row.state == State.SENDING:  # else the sweep already settled it
            _fail(row, code, permanent=permanent)


def _fail(row: Notification, code: str, *, permanent: bool = False) -> None:
    """Precondition: `row` is locked. End this attempt as failed; an emergency goes again
    unless the failure is permanent."""
    row.state, row.error_code, row.ended_at = State.FAILED, code[:40], timezone.now()
    row.save(update_fields=["state", "error_code", "ended_at", "updated_at"])
    _after_failure(row, permanent=permanent)


def _after_failure(row: Notification, *, permanent: bool = False) -> None:
    if row.urgency == Urgency.EMERGENCY:
        if permanent:
            log.warning("notification_refused_for_good", notification=row.pk, code=row.error_code)
        elif row.attempt < settings.ANXIN["NOTIFY_EMERGENCY_ATTEMPTS"]:
            call_again(row, after=RETRY_STEP * (row.attempt - 1))
            return
        else:
            log.error("notification_gave_up", notification=row.pk, attempts=row.attempt)
    if row.flow:
        flows.call_ended(row)


def call_final_status_within() -> timedelta:
    """How long after the provider took a call its final status must have come: longer than it
    rings, is answered and asked its question (ANXIN["CALL_FINAL_STATUS_WITHIN_S"])."""
    return timedelta(seconds=settings.ANXIN["CALL_FINAL_STATUS_WITHIN_S"])


def calls_without_final_status(now: datetime) -> Q:
    """Calls the provider took (ringing, or answered) whose end was never reported in time."""
    return Q(
        channel=Channel.CALL,
        state__in=[State.SENT, State.DELIVERED],
        ended_at__isnull=True,
        sent_at__lt=now - call_final_status_within(),
    )


def _end_unheard(row: Notification) -> None:
    """Precondition: `row` is locked and matches `calls_without_final_status`. Its final status
    was lost: the call counts as not answered (or, answered, as ended without a key), and its
    flow moves on. A late callback is still recorded but ends nothing again."""
    if row.state == State.SENT:
        row.state = State.UNANSWERED
    row.error_code, row.ended_at = NO_FINAL_STATUS, timezone.now()
    row.save(update_fields=["state", "error_code", "ended_at", "updated_at"])
    if row.flow and not row.digits:
        flows.call_ended(row)


def notifications_sweep() -> dict[str, int]:
    """The guarantee behind the delivery tasks: send the delivery of every pending row that
    has come due (quiet hours over, a retry's back-off passed) or whose task was lost, and
    settle rows stuck in "sending" (routine: failed; emergency: failed and the next attempt), and
    end calls whose final status never came (not answered: their flow moves on). Rows another
    sweep holds are skipped (`skip_locked`). Each row settled or ended is its own savepoint."""
    now = timezone.now()
    settled = ended = 0
    lost = Q()
    for urgency, after in REENQUEUE_AFTER.items():
        lost |= Q(urgency=urgency, enqueued_at__lt=now - after)
    with transaction.atomic():
        due = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(state=State.PENDING, send_after__lte=now)
            .filter(Q(enqueued_at__isnull=True) | lost)
            .order_by(EMERGENCIES_FIRST, "send_after")[:SWEEP_BATCH]
        )
        for row in due:
            _enqueue_if_due(row, now)
    with transaction.atomic():
        stuck = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(state=State.SENDING, sending_at__lt=now - STALE_SENDING)
            .order_by(EMERGENCIES_FIRST, "sending_at")[:SWEEP_BATCH]
        )
        for row in stuck:
            log.warning("notification_outcome_unknown", notification=row.pk)
            settled += _each(row, lambda row: _fail(row, "outcome_unknown"))
    with transaction.atomic():
        unheard = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(calls_without_final_status(now))
            .order_by(EMERGENCIES_FIRST, "sent_at")[:SWEEP_BATCH]
        )
        for row in unheard:
            log.warning("notification_no_final_status", notification=row.pk)
            ended += _each(row, _end_unheard)
    return {"enqueued": len(due), "settled": settled, "unheard": ended}


def _each(row: Notification, act: Callable[[Notification], None]) -> int:
    """Precondition: inside the sweep's transaction, `row` locked. `act` on one row in its own
    savepoint: a row whose flow fails is logged and left for the next run, never rolling back
    the rest of the batch. 1 if it went through."""
    try:
        with transaction.atomic():
            act(row)
    except Exception:
        log.exception("notification_sweep_row_failed", notification=row.pk)
        return 0
    return 1


def delivery_status_record(
    *, sid: str, status: str, error_code: str = "", notification_id: int | None = None
) -> Notification | None:
    """A status callback (Twilio's MessageStatus or CallStatus) for the message or call `sid`,
    of the row `notification_id` named in its URL (backends.status_url). Callbacks come in any
    order, some before the delivery has saved the SID: only a status ranked above the recorded
    one moves the row, and a final one stays. A call that ends without a keypad answer ends its
    flow (flows.on_ended); an emergency the provider failed goes again. None when `sid` is not
    ours."""
    with transaction.atomic():
        rows = Notification.objects.select_for_update()
        if notification_id is None:
            row = rows.filter(provider_sid=sid).first()
        else:
            row = rows.filter(pk=notification_id).first()
            if row is not None and row.provider_sid not in ("", None, sid):
                row = None  # another attempt's SID: not this row's news
        if row is None:
            return None
        if not row.provider_sid:
            row.provider_sid = sid
        ranks = STATUS_RANKS[row.channel]
        rank = ranks.get(status)
        if rank is None:
            log.info("notification_status_ignored", notification=row.pk, status=status)
            return row
        final, current = FINAL_RANK[row.channel], ranks.get(row.provider_status, 0)
        if current == final or rank <= current:
            return row  # the row already ended, or this is older news
        ended_before = row.ended_at is not None  # by us: failed, or no final status in time
        row.provider_status = status
        row.state = STATUS_STATES.get(status, State.SENT)
        if error_code:
            row.error_code = error_code[:40]
        if rank == final and not ended_before:
            row.ended_at = timezone.now()
        row.save()
        if rank == final and not ended_before:
            _provider_ended(row)
        return row


def _provider_ended(row: Notification) -> None:
    if row.state == State.FAILED and row.urgency == Urgency.EMERGENCY:
        _after_failure(row)
    elif row.channel == Channel.CALL and row.flow and not row.digits:
        flows.call_ended(row)


def inbound_sms_late(
    *, from_number: str, body: str, message_sid: str = "", to_number: str = ""
) -> str | None:
    """An inbound SMS the webhook could not keep in time (the database was slow): the same path
    as the webhook's (flows.sms_reply: kept, handlers, else a person), off Twilio's clock. The
    webhook has already answered, so a reply goes out as an SMS of its own (not before quiet
    hours' end matters: it answers the sender now). Returns the reply, if any. Run inside a
    transaction: a failure keeps nothing, and the retry finds nothing kept twice."""
    reply = flows.sms_reply(from_number, body, message_sid=message_sid, to_number=to_number)
    if reply is None:
        return None
    if not E164.match(from_number):
        log.warning("inbound_sms_reply_unsendable", to=phone_tail(from_number))
        return reply
    notify(
        event=f"sms.reply:{message_sid or from_number}",
        to=from_number,
        channel=Channel.SMS,
        template="sms_reply.text",
        params={"text": reply},
        language=settings.LANGUAGE_CODE,
        quiet_hours=False,
    )
    return reply
