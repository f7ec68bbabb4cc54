"""Call flows and inbound SMS handlers: how the platform hears back on the telephone.

A flow is an outbound call that takes a keypad answer (the emergency call-out, the visit
confirmation). A domain app registers it once (`register_flow`, from its AppConfig.ready) and
names it in `notify(..., flow=name)`. The webhooks (hotline) then ask:

- `answer_twiml` when the call is answered: the template spoken, inside <Gather numDigits=1>
  whose action is /hooks/twilio/gather/?n=<id> when the call has a flow;
- `gather_twiml` with the key pressed: the flow's `on_digits(notification, digits)` returns
  the text to say back (the answer is taken and recorded on the row) or None (not an answer it
  takes: the question is asked again);
- the status callback (services.delivery_status_record) calls the flow's
  `on_ended(notification)` when the call ends without an answer taken: no answer, busy,
  failed (an emergency only once its attempts are spent), or completed without digits.

Inbound SMS: `sms_reply(from_number, body, message_sid=...)` keeps every SMS as an
`InboundSms` row first (a MessageSid seen before is a replay or Twilio's retry: ignored, so a
replayed "1" answers nothing twice). Where SMS are read (ANXIN["SMS_REPLIES"]; Twilio's service
in mainland China has no two-way SMS, so it is false by default) each registered handler is tried
in turn and the first reply is the answer, recorded on the row. Otherwise nothing is answered,
ever: no automatic reply to loop with another auto-responder or cost money. An SMS no handler
takes (or that arrives while replies are off) goes to the `register_sms_unhandled` hooks, which
put one from a number we know before a person (dispatch: an `sms.unhandled` event to the
district's operators); one from an unknown number stays a row and a warning in the log.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction

from backend.core.logging import phone_tail

from .backends import gather_url
from .models import Channel, InboundSms, Notification
from .speech import say
from .templates import render
from .twilio_backend import voice_response

log = structlog.get_logger(__name__)

OnDigits = Callable[[Notification, str], str | None]
OnEnded = Callable[[Notification], None]
SmsHandler = Callable[[str, str], str | None]
SmsUnhandled = Callable[[InboundSms], bool]

# Seconds Twilio waits for a key after the question; the question is asked twice.
GATHER_TIMEOUT_S = 8
ASKED = 2


@dataclass(frozen=True)
class Flow:
    name: str
    on_digits: OnDigits
    on_ended: OnEnded


_flows: dict[str, Flow] = {}
_sms_handlers: list[SmsHandler] = []
_sms_unhandled: list[SmsUnhandled] = []
# InboundSms.handled_by of an SMS no handler took that a hook put before a person.
TO_OPERATORS = "operators"


def register_flow(name: str, *, on_digits: OnDigits, on_ended: OnEnded) -> None:
    """Register (or replace) the flow `name`; call from an AppConfig.ready."""
    _flows[name] = Flow(name, on_digits, on_ended)


def flow_registered(name: str) -> bool:
    return name in _flows


def call_ended(notification: Notification) -> None:
    """The call ended without an answer taken: the flow decides what comes next.
    Precondition: the caller holds the row's lock (each ending is told once)."""
    flow = _flows.get(notification.flow)
    if flow is None:
        log.error("flow_unknown", notification=notification.pk, flow=notification.flow)
        return
    flow.on_ended(notification)


def answer_twiml(notification_id: int, params: Mapping[str, Any]) -> str:
    """TwiML for an answered outbound call (Twilio's request `params`, CallSid among them)."""
    with transaction.atomic():
        row = _call(notification_id)
        if row is None:
            return _hang_up()
        sid = str(params.get("CallSid") or "")
        if sid and not row.provider_sid:  # answered before the placing worker saved the SID
            row.provider_sid = sid
            row.save(update_fields=["provider_sid", "updated_at"])
    return _ask(row, ASKED) if row.flow in _flows else _tell(row)


def gather_twiml(notification_id: int, digits: str, params: Mapping[str, Any]) -> str:
    """TwiML for a key pressed on an outbound call: the flow's answer, or the question again."""
    with transaction.atomic():
        row = _call(notification_id, lock=True)
        flow = _flows.get(row.flow) if row is not None else None
        if row is None or flow is None:
            return _hang_up()
        reply = flow.on_digits(row, digits)
        if reply is None:
            return _ask(row, 1)
        row.digits = digits[:8]
        row.save(update_fields=["digits", "updated_at"])
    response = voice_response()
    say(response, reply, row.language)
    response.hangup()
    return str(response)


def _call(notification_id: int, *, lock: bool = False) -> Notification | None:
    rows = Notification.objects.filter(pk=notification_id, channel=Channel.CALL)
    return (rows.select_for_update() if lock else rows).first()


def _ask(row: Notification, times: int) -> str:
    response = voice_response()
    text = render(row.template, row.params, row.language)
    for _ in range(times):
        gather = response.gather(
            num_digits=1, action=gather_url(row.pk), method="POST", timeout=GATHER_TIMEOUT_S
        )
        say(gather, text, row.language)
    response.hangup()
    return str(response)


def _tell(row: Notification) -> str:
    response = voice_response()
    text = render(row.template, row.params, row.language)
    say(response, text, row.language)
    response.pause(length=1)
    say(response, text, row.language)  # once more: an elder's household may miss it once
    response.hangup()
    return str(response)


def _hang_up() -> str:
    response = voice_response()
    response.hangup()
    return str(response)


def register_sms_handler(handler: SmsHandler) -> None:
    """`handler(from_number, body)` returns the reply text, or None if the SMS is not its."""
    if handler not in _sms_handlers:
        _sms_handlers.append(handler)


def register_sms_unhandled(hook: SmsUnhandled) -> None:
    """`hook(message)` puts an SMS nothing took before a person; True if it did (the sender is
    someone it knows), False to leave it to the next hook."""
    if hook not in _sms_unhandled:
        _sms_unhandled.append(hook)


def sms_reply(
    from_number: str, body: str, *, message_sid: str = "", to_number: str = ""
) -> str | None:
    """Take an inbound SMS: keep it, let a handler answer it (replies on), else put it before a
    person. The reply to send, or None (replies off, nothing took it, or a repeated
    `message_sid`). Runs inside the webhook's transaction."""
    message = _sms_keep(from_number, to_number, body, message_sid)
    if message is None:
        log.info("inbound_sms_repeated", message_sid=message_sid)
        return None
    reply, handled_by = None, ""
    if settings.ANXIN["SMS_REPLIES"]:
        reply, handled_by = _sms_handle(from_number, body)
    if reply is None:
        handled_by = TO_OPERATORS if _sms_to_a_person(message) else ""
    if not handled_by:
        log.warning("inbound_sms_unhandled", message=message.pk, to=phone_tail(from_number))
    message.handled_by, message.reply = handled_by[:100], reply or ""
    message.save(update_fields=["handled_by", "reply"])
    return reply


def _sms_keep(from_number: str, to_number: str, body: str, message_sid: str) -> InboundSms | None:
    """The SMS as a row; None when its MessageSid is already one (Twilio's retry, a replay)."""
    try:
        with transaction.atomic():
            return InboundSms.objects.create(
                sender=from_number[:32],
                to_number=to_number[:32],
                body=body,
                message_sid=message_sid or None,
            )
    except IntegrityError:
        return None


def _sms_handle(from_number: str, body: str) -> tuple[str | None, str]:
    """The first handler's reply and its name. A handler that fails is logged and passed over:
    the SMS then goes to a person rather than being lost with the webhook's transaction."""
    for handler in _sms_handlers:
        try:
            with transaction.atomic():
                reply = handler(from_number, body)
        except Exception:
            log.error("sms_handler_failed", handler=_name(handler), exc_info=True)
            continue
        if reply is not None:
            return reply, _name(handler)
    return None, ""


def _sms_to_a_person(message: InboundSms) -> bool:
    return any(hook(message) for hook in _sms_unhandled)


def _name(handler: Callable[..., object]) -> str:
    return f"{handler.__module__}.{getattr(handler, '__qualname__', repr(handler))}"
