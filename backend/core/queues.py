"""Queues by urgency: the one table of which work goes to which Celery queue.

- alarm: the alarms' sweep (re-announce, re-send, dispatch by the platform: docs/alarms.md),
  with a worker of its own that nothing else can hold up;
- urgent: everything serving an emergency (its matching, offers and their expiry, its
  contacts' SMS and calls) and the urgent sweep;
- routine: matching and offers of all other work, and the routine sweep;
- notify: SMS and calls that serve no emergency;
- device: what devices' heartbeats and battery reports lead to (last heard, battery, offline
  and maintenance problems) and the device sweep (missed heartbeats, catch-up): a storm of
  heartbeats waits here, never in front of an alarm or an emergency (docs/alarms.md); and the
  console map's batches of workers' positions, telemetry too (a hint that may come late);
- bulk: care-plan expansion, reports, housekeeping, the providers' daily run.

Each queue is named `<CELERY_QUEUE>-<lane>`, so development (`anxin`), tests (`anxin-test`) and
production (`anxin-prod`, never a development name) never take each other's tasks. A task whose
queue is fixed is routed here (CELERY_TASK_ROUTES); work that may serve an emergency is routed
to routine or notify, and its enqueue site sends it to urgent instead (enqueue_after_commit's
`urgent=`). "Urgent" is the queue, not `Priority.URGENT`: urgent-priority work is routine here.

Settings import this module: nothing here reads settings when it is imported.
"""

import contextlib
from collections.abc import Iterable, Mapping

from django.conf import settings

ALARM = "alarm"
URGENT = "urgent"
ROUTINE = "routine"
NOTIFY = "notify"
DEVICE = "device"
BULK = "bulk"
LANES = (ALARM, URGENT, ROUTINE, NOTIFY, DEVICE, BULK)

TASK_LANES = {
    "alarms.tasks.alarms_sweep": ALARM,
    "dispatch.tasks.sweep_urgent": URGENT,
    "dispatch.tasks.request_match": ROUTINE,
    "dispatch.tasks.offer_expire": ROUTINE,
    "dispatch.tasks.sweep_routine": ROUTINE,
    "backend.telephony.tasks.notification_deliver": NOTIFY,
    # The guarantee behind emergency calls: not behind a flood of routine SMS.
    "backend.telephony.tasks.notifications_sweep": URGENT,
    # An inbound SMS the webhook could not keep in time ("救命" must not wait behind routine).
    "backend.telephony.tasks.inbound_sms_take": URGENT,
    # The hotline: an emergency pressed while the database was slow; callers left waiting.
    "hotline.tasks.call_emergency_ensure": URGENT,
    "hotline.tasks.calls_sweep": URGENT,
    # Heartbeats and battery reports: low priority, and never in the alarms' way.
    "alarms.tasks.device_messages_apply_pending": DEVICE,
    "alarms.tasks.devices_sweep": DEVICE,
    # The console map's positions, every few seconds: telemetry, never in an emergency's way.
    "console.tasks.map_positions_push": DEVICE,
    "dispatch.tasks.care_plans_generate": BULK,
    "backend.core.tasks.housekeeping_purge": BULK,
    "backend.telephony.tasks.notifications_purge": BULK,
    "alarms.tasks.device_messages_purge": BULK,
    "providers.tasks.providers_daily": BULK,
}


def queue_names(base: str) -> dict[str, str]:
    """Each lane's queue under the deployment's base name."""
    return {lane: f"{base}-{lane}" for lane in LANES}


def task_routes(queues: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {task: {"queue": queues[lane]} for task, lane in TASK_LANES.items()}


def queue(lane: str) -> str:
    """The queue of `lane` in this deployment."""
    return settings.ANXIN_QUEUES[lane]


def routed_queues() -> set[str]:
    """Every queue a task can be sent to: the routes, the beat entries' queues, the default, and
    the urgent queue (an enqueue site's choice). Each needs a worker that consumes it."""
    names = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        names.add(entry.get("options", {}).get("queue") or settings.CELERY_TASK_DEFAULT_QUEUE)
    names.add(settings.CELERY_TASK_DEFAULT_QUEUE)
    names.add(queue(URGENT))
    return names


class _EveryQueueHeard(Exception):
    """Stops listening for answers once every wanted queue has a consumer."""


def queue_consumers(wanted: Iterable[str], *, timeout: float) -> dict[str, set[str]]:
    """{worker: the queues it consumes} from the workers that answer a broadcast.

    Listens until `timeout` passes without an answer, or until every queue in `wanted` has a
    consumer, whichever comes first: a healthy platform answers in milliseconds, one missing a
    consumer in about `timeout`.
    """
    from backend.celery import app

    wanted = set(wanted)
    heard: dict[str, set[str]] = {}

    def answer(reply: dict) -> None:
        for worker, queues in reply.items():
            heard[worker] = {q["name"] for q in queues if isinstance(q, dict)}
        if wanted and wanted <= set().union(*heard.values()):
            raise _EveryQueueHeard

    with contextlib.suppress(_EveryQueueHeard):
        app.control.broadcast("active_queues", reply=True, timeout=timeout, callback=answer)
    return heard


def queues_without_consumer(heard: Mapping[str, set[str]]) -> list[str]:
    consumed = set().union(*heard.values()) if heard else set()
    return sorted(routed_queues() - consumed)
