"""Thin tasks of the hotline, on the urgent lane (backend/core/queues.py): what a webhook could
not write in time, and the sweep behind Twilio's lost callbacks (on beat, beside sweep-urgent,
whose watch covers the lane and the beat)."""

import structlog
from celery import shared_task
from django.db import DatabaseError

from . import services
from .alarm_call_back import alarm_call_backs_sweep
from .bounded import database_bounded

log = structlog.get_logger(__name__)

# Off the webhook's clock, a statement may wait much longer than Twilio can.
TASK_DB_TIMEOUT_MS = 15_000
SWEEP_BATCH = 200


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=60,
)
def call_emergency_ensure(call_sid: str, from_number: str, to_number: str, district_id: int) -> str:
    """The caller pressed 9 while the database was slow: the emergency, as soon as it answers
    (retried until it does; each wait-URL request of the caller tries it too)."""
    with database_bounded(TASK_DB_TIMEOUT_MS):
        call = services.call_emergency_ensure(
            call_sid=call_sid, from_number=from_number, to_number=to_number, district_id=district_id
        )
    return call.priority


@shared_task(acks_late=True)
def calls_sweep() -> dict[str, int]:
    """Takes whose <Dial> never reported its end go back to the queue; queued callers Twilio no
    longer asks the wait URL for (hung up, the status callback lost) are ended and called back,
    and so are calls left in voicemail past the longest message; operators' call-backs of
    alarms whose news stopped are ended (hotline/alarm_call_back.py).
    Each call is its own transaction; a locked one waits for the next round."""
    steps = (
        (
            "connecting_requeued",
            services.calls_connecting_stale,
            services.call_connecting_stale_requeue,
        ),
        ("gone_ended", services.calls_gone, services.call_gone_end),
        ("voicemail_ended", services.calls_voicemail_stale, services.call_voicemail_end),
    )
    done: dict[str, int] = {}
    for name, due, act in steps:
        done[name] = 0
        for pk in list(due().values_list("pk", flat=True)[:SWEEP_BATCH]):
            try:
                done[name] += int(act(call_id=pk))
            except Exception:
                log.exception("hotline_sweep_item_failed", step=name, call=pk)
    done["alarm_call_backs_ended"] = alarm_call_backs_sweep()
    return done
