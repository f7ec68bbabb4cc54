"""Alarm intake under load, end to end: signed alarms posted to `POST /api/v1/alarms/` of the
running platform by a load process of its own (alarms/management/alarm_load.py), while an
operator's WebSocket listens; prints the alarms accepted per second, the answers' latency and
the time from the platform's receipt of each alarm to its `alarm.raised` on the socket.

It registers bench devices (serials `BENCH-ALARM-`) on the elders of one district through the
elders' own service, each with its secret, and a throwaway operator of that district
(`bench-alarms-`) whose socket is opened with a ticket issued here. Every alarm goes to a device
of its own while there are enough, so each opens an alarm (`alarm.raised`); past that, devices
are used again and their presses join the open alarm (`alarm.pressed`, measured the same way).

Cleaning up: everything the run made (alarms, their events, the devices' messages and events,
the devices, the operator) is deleted at the end, and whatever a killed run left is deleted at
the start of the next (`--clean` does only that). The alarm sweep re-sends an alarm nobody
acknowledged after ALARM_ACK_WITHIN_S (30 s) and dispatches after 60 s: the run is refused
unless it ends, drained and settled, a margin before the first re-send, and the clean-up locks
the run's alarms before deleting them, so the sweep (which skips locked rows) acts on none.
What it did anyway (a platform configured with a shorter window, a run killed midway) is
undone: re-send events and any emergency request dispatched are deleted too.

The load runs on the same machine as the platform and takes CPU from it: the figures are what
the platform does with its load generator beside it.
"""

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count, Model, ProtectedError, Q

from alarms.management.alarm_load import DRAIN_S, Sample
from alarms.models import ALARM_KINDS, Alarm, DeviceMessage
from backend.accounts.models import District, Role, User
from backend.core.management.benchmarks import benchmark_allowed
from backend.core.models import Event
from backend.core.tickets import ws_ticket_issue
from backend.telephony.models import Notification
from dispatch.management.commands.benchmark_intake import percentile
from dispatch.models import CallOut, JobOffer, OperatorAlert, ServiceRequest
from dispatch.selectors import grant_reference
from elders.models import AccessGrant, AlarmDevice, Elder
from elders.services import device_register

SERIAL_PREFIX = "BENCH-ALARM-"
USER_PREFIX = "bench-alarms-"
ROOT = Path(__file__).resolve().parents[3]
# The clean-up starts at most this long after the last answer awaited and the settle: it must
# lock the run's alarms before the sweep's first re-send is due.
CLEANUP_MARGIN_S = 5.0
# Devices made per transaction while preparing.
BATCH = 500
# The heartbeat interval of the bench devices: the longest allowed, so no heartbeat is missed.
HEARTBEAT_S = 7 * 86400


# Cleaning up ----------------------------------------------------------------------------------


def bench_clear() -> dict[str, int]:
    """Delete every bench device and operator and everything they made, in one transaction.

    The devices are locked first (as the intake does before it writes an alarm): a message of
    the run still on its way in either committed before (and is deleted here) or finds its
    device gone. Then the alarms are locked: the alarm sweep skips locked rows, so it neither
    re-sends nor dispatches them while they are deleted."""
    with transaction.atomic():
        device_ids = list(
            AlarmDevice.objects.select_for_update()
            .filter(serial__startswith=SERIAL_PREFIX)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        alarms = list(
            Alarm.objects.select_for_update()
            .filter(device_id__in=device_ids)
            .values_list("pk", "request_id")
        )
        alarm_ids = [pk for pk, _ in alarms]
        request_ids = [request for _, request in alarms if request is not None]
        users = list(
            User.objects.filter(username__startswith=USER_PREFIX).values_list("pk", flat=True)
        )
        resent = Event.objects.filter(
            subject_type="alarm", subject_id__in=alarm_ids, kind="alarm.resent"
        ).count()
        events = Event.objects.filter(
            Q(subject_type="alarm", subject_id__in=alarm_ids)
            | Q(subject_type="device", subject_id__in=device_ids)
            # Events of the device's life elsewhere (its problems) name it in their data.
            | Q(data__device_id__in=device_ids)
            | Q(subject_type="elder", kind="elder.alarmdevice_added", data__id__in=device_ids)
            | Q(actor_id__in=users)
        ).delete()[0]
        DeviceMessage.objects.filter(device_id__in=device_ids).delete()
        _referring_delete(Alarm, alarm_ids)
        Alarm.objects.filter(pk__in=alarm_ids).delete()
        undone = _requests_undo(request_ids)
        _referring_delete(AlarmDevice, device_ids)
        AlarmDevice.objects.filter(pk__in=device_ids).delete()
        User.objects.filter(pk__in=users).delete()
    return {
        "devices": len(device_ids),
        "alarms": len(alarm_ids),
        "events": events,
        "resent_undone": resent,
        "requests_undone": undone,
        "users": len(users),
    }


def _referring_delete(model: type[Model], ids: list[int]) -> None:
    """Delete the rows of any model that point at these (whatever the platform hung on a bench
    device or alarm, in whichever app), messages and alarms aside: they go in their own order."""
    for relation in model._meta.related_objects:
        related = relation.related_model
        if isinstance(related, str) or relation.many_to_many or related in (DeviceMessage, Alarm):
            continue
        related._base_manager.filter(**{f"{relation.field.name}__in": ids}).delete()


def _requests_undo(request_ids: list[int]) -> int:
    """Delete emergency requests the alarm sweep dispatched for bench alarms, with what hangs
    from them (offers, alerts, the contacts' call-out, grants, their events, notifications not
    yet sent... or sent: the outbox keeps what went). A request someone already visited or
    complained about is left, named in the error."""
    if not request_ids:
        return 0
    offers = list(JobOffer.objects.filter(request_id__in=request_ids).values_list("pk", flat=True))
    alerts = list(
        OperatorAlert.objects.filter(request_id__in=request_ids).values_list("pk", flat=True)
    )
    callouts = list(CallOut.objects.filter(request_id__in=request_ids).values_list("pk", flat=True))
    named = Q(event__in=[f"request.emergency:{pk}" for pk in request_ids])
    named |= Q(event__in=[f"offer.sms:{pk}" for pk in offers])
    named |= Q(event__in=[f"alert:{pk}" for pk in alerts])
    for pk in callouts:
        named |= Q(event__startswith=f"callout:{pk}:")
    Notification.objects.filter(named).delete()
    Event.objects.filter(
        Q(subject_type="request", subject_id__in=request_ids)
        | Q(subject_type="offer", subject_id__in=offers)
        | Q(subject_type="alert", subject_id__in=alerts)
    ).delete()
    AccessGrant.objects.filter(reference__in=[grant_reference(pk) for pk in request_ids]).delete()
    try:
        with transaction.atomic():
            return (
                ServiceRequest.objects.filter(pk__in=request_ids)
                .delete()[1]
                .get("dispatch.ServiceRequest", 0)
            )
    except ProtectedError as exc:
        raise CommandError(
            f"requests {request_ids} dispatched for bench alarms have a visit or a complaint: "
            f"left as they are ({exc})"
        ) from None


# Preparing ------------------------------------------------------------------------------------


@dataclass
class Prepared:
    district: District
    operator: User
    devices: list[tuple[str, str]]  # (serial, secret)
    device_ids: list[int]


def bench_prepare(*, district: District, devices: int, run: str) -> Prepared:
    """A throwaway operator of the district and `devices` bench devices on its elders, in
    turn, registered through the elders' service (each with its secret and its event)."""
    elders = list(Elder.objects.filter(district=district).only("pk", "district_id").order_by("pk"))
    if not elders:
        raise CommandError(f"district {district.code} has no elder to put devices on")
    operator = User(username=f"{USER_PREFIX}{run}", role=Role.OPERATOR, district=district)
    operator.set_unusable_password()
    operator.save()
    made: list[tuple[str, str]] = []
    ids: list[int] = []
    for start in range(0, devices, BATCH):
        with transaction.atomic():
            for n in range(start, min(devices, start + BATCH)):
                device, secret = device_register(
                    elder=elders[n % len(elders)],
                    actor=operator,
                    fields={
                        "serial": f"{SERIAL_PREFIX}{run}-{n:06d}",
                        "kind": "button",
                        "heartbeat_interval_s": HEARTBEAT_S,
                    },
                )
                made.append((device.serial, secret))
                ids.append(device.pk)
    return Prepared(district, operator, made, ids)


def bench_district(code: str | None) -> District:
    """The named district, or the one with the most elders."""
    if code:
        district = District.objects.filter(code=code).first()
        if district is None:
            raise CommandError(f"no district with code {code}")
        return district
    most = (
        Elder.objects.values("district_id")
        .annotate(elders=Count("pk"))
        .order_by("-elders", "district_id")
        .first()
    )
    if most is None:
        raise CommandError("no district has elders (deploy/up seeds the demo one)")
    return District.objects.get(pk=most["district_id"])


def devices_needed(*, rate: float, seconds: float, given: int | None) -> int:
    """One device per alarm sent: rate x seconds, and a margin. At rate 0 (as fast as it goes)
    the number is a guess unless given; past it, devices are used again (their alarms join)."""
    if given:
        return given
    per_second = rate if rate > 0 else 400
    return int(math.ceil(per_second * seconds * 1.02)) + 10


def time_allowed(*, warmup: float, duration: float, settle: float) -> float:
    """How long a run may send: it must end (drained, settled, cleaned up) before the sweep's
    first re-send, ALARM_ACK_WITHIN_S after the first alarm. Negative: nothing is allowed."""
    ack = float(settings.ANXIN["ALARM_ACK_WITHIN_S"])
    return ack - warmup - DRAIN_S - settle - CLEANUP_MARGIN_S - duration


# The operator's socket ------------------------------------------------------------------------


class SocketWatch:
    """An operator's socket on /ws/, recording when each alarm message (by its device's
    `event_id`) first arrived, on this machine's clock (time.time)."""

    KINDS = ("alarm.raised", "alarm.pressed")

    def __init__(self, url: str):
        self.url = url
        self.first_seen: dict[str, float] = {}
        self.repeats = 0
        self.connected = threading.Event()
        self.failed: BaseException | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="alarm-watch", daemon=True)
        self.stopping: asyncio.Event | None = None

    def start(self, timeout: float = 30) -> None:
        self.thread.start()
        if not self.connected.wait(timeout) or self.failed:
            raise CommandError(f"the operator's socket did not open: {self.failed!r}")

    def stop(self) -> None:
        if self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # reported by start(), or as missing alarms
            self.failed = exc
            self.connected.set()

    async def _main(self) -> None:
        import websockets

        self.stopping = asyncio.Event()
        async with websockets.connect(self.url, max_size=2**20, close_timeout=2) as socket:
            hello = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if hello.get("type") != "hello":
                raise CommandError(f"unexpected first message {hello!r}")
            reader = asyncio.ensure_future(self._read(socket))
            self.connected.set()
            await self.stopping.wait()
            reader.cancel()

    async def _read(self, socket) -> None:
        async for raw in socket:
            now = time.time()
            self.record(json.loads(raw), now)

    def record(self, message: dict[str, Any], now: float) -> None:
        if message.get("type") not in self.KINDS:
            return
        event_id = (message.get("data") or {}).get("event_id")
        if event_id in self.first_seen:
            self.repeats += 1  # announced again, or a repeat the client shows once
        elif event_id:
            self.first_seen[event_id] = now


# Figures --------------------------------------------------------------------------------------


def figures(
    *,
    samples: list[Sample],
    kept: dict[str, float],
    seen: dict[str, float],
    start: float,
    warmup: float,
    duration: float,
) -> dict[str, Any]:
    """The run's figures from the load's samples, the alarms the platform kept (event_id ->
    received_at, read back from the database) and when each reached the socket.

    The window is [start + warmup, start + warmup + duration): accepted per second counts the
    2xx answered in it, latencies are of the alarms due in it. Alarms never seen on the socket
    count over the whole run (an alarm kept whose answer was lost included)."""
    low, high = start + warmup, start + warmup + duration
    due = [s for s in samples if low <= s.due < high]
    ok = [s for s in due if 200 <= s.status < 300]
    answered_in = sum(1 for s in samples if 200 <= s.status < 300 and low <= s.answered < high)
    answer = [s.answered - s.due for s in ok]
    late = [s.sent - s.due for s in due if s.status != -1]
    to_socket = [seen[e] - kept[e] for e in (s.event_id for s in due) if e in seen and e in kept]
    refused = Counter(
        f"{s.status} {s.result}" if s.status > 0 else s.result
        for s in samples
        if not 200 <= s.status < 300
    )
    results = Counter(s.result for s in samples if 200 <= s.status < 300)

    def ms(values: list[float], q: float) -> float:
        return percentile(values, q) * 1000

    return {
        "sent": sum(1 for s in samples if s.status != -1),
        "due_in_window": len(due),
        "offered_per_s": len(due) / duration,
        "accepted_per_s": answered_in / duration,
        "opened": results.get("opened", 0),
        "joined": results.get("joined", 0),
        "answer_p50_ms": ms(answer, 50),
        "answer_p99_ms": ms(answer, 99),
        "answer_max_ms": max(answer, default=math.nan) * 1000,
        "sent_late_p99_ms": ms(late, 99),
        "kept": len(kept),
        "socket_in_window": len(to_socket),
        "socket_p50_ms": ms(to_socket, 50),
        "socket_p99_ms": ms(to_socket, 99),
        "socket_max_ms": max(to_socket, default=math.nan) * 1000,
        "never_seen": sum(1 for e in kept if e not in seen),
        "errors": dict(refused),
    }


# The command ----------------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Signed alarms from a separate load process against the running platform: alarms "
        "accepted per second, answer latency, and receipt to an operator's socket (p50, p99)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--server", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--socket-server", help="where the operator's socket connects (default: --server)"
        )
        parser.add_argument(
            "--rate", type=float, default=100.0, help="alarms per second (0: as fast as it goes)"
        )
        parser.add_argument("--clients", type=int, default=32, help="connections")
        parser.add_argument("--duration", type=float, default=15.0, help="seconds measured")
        parser.add_argument("--warmup", type=float, default=2.0, help="seconds not measured")
        parser.add_argument(
            "--settle", type=float, default=5.0, help="seconds to wait for the socket after"
        )
        parser.add_argument("--district", help="district code (default: the most elders)")
        parser.add_argument("--devices", type=int, help="bench devices (default: one per alarm)")
        parser.add_argument("--kind", default="sos", choices=sorted(ALARM_KINDS))
        parser.add_argument("--json", action="store_true", help="one JSON line of figures too")
        parser.add_argument("--clean", action="store_true", help="only delete a run's leftovers")

    def handle(self, *args, **o):
        benchmark_allowed("benchmark_alarms", "devices and alarms into a district")
        if o["clean"]:
            self._cleared("leftovers", bench_clear())
            return
        spare = time_allowed(warmup=o["warmup"], duration=o["duration"], settle=o["settle"])
        if spare < 0:
            raise CommandError(
                f"warm-up + duration + settle must end {DRAIN_S + CLEANUP_MARGIN_S:g} s before "
                f"the sweep re-sends an unacknowledged alarm (ALARM_ACK_WITHIN_S "
                f"{settings.ANXIN['ALARM_ACK_WITHIN_S']} s): shorten the run by {-spare:g} s"
            )
        if o["rate"] < 0 or o["clients"] < 1 or o["duration"] <= 0:
            raise CommandError("--rate must be 0 or more, --clients and --duration positive")
        # SIGTERM, like Ctrl-C, still cleans up.
        before = signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            self._bench(o)
        finally:
            signal.signal(signal.SIGTERM, before)

    def _bench(self, o: dict) -> None:
        left = bench_clear()
        if any(left.values()):
            self._cleared("a previous run's leftovers", left)
        district = bench_district(o["district"])
        seconds = o["warmup"] + o["duration"]
        count = devices_needed(rate=o["rate"], seconds=seconds, given=o["devices"])
        self.stdout.write(f"preparing {count} bench devices in district {district.code}")
        run = os.urandom(3).hex()
        try:
            prepared = bench_prepare(district=district, devices=count, run=run)
            f = self._run(prepared, o)
            self._report(f, o)
        finally:
            self._cleared("cleaned up", bench_clear())

    def _run(self, prepared: Prepared, o: dict) -> dict[str, Any]:
        base = o["server"].rstrip("/")
        ticket = ws_ticket_issue(user=prepared.operator)
        ws_base = (o["socket_server"] or base).rstrip("/")
        ws_base = ws_base.replace("http://", "ws://").replace("https://", "wss://")
        watch = SocketWatch(f"{ws_base}/ws/?ticket={ticket.token}")
        watch.start()
        try:
            load_before = os.getloadavg()[0]
            out = self._load(prepared, o, base)
            load_after = os.getloadavg()[0]
            samples = [Sample(*row) for row in out["samples"]]
            kept = self._settle(prepared, watch, o["settle"])
        finally:
            watch.stop()
        f = figures(
            samples=samples,
            kept=kept,
            seen=watch.first_seen,
            start=out["start"],
            warmup=o["warmup"],
            duration=o["duration"],
        )
        f.update(
            rate=o["rate"],
            clients=o["clients"],
            devices=len(prepared.devices),
            socket_repeats=watch.repeats,
            cpus=os.cpu_count(),
            load_before=load_before,
            load_after=load_after,
        )
        return f

    def _load(self, prepared: Prepared, o: dict, base: str) -> dict[str, Any]:
        """The load, as a process of its own; its plan (the secrets) on its standard input."""
        plan = {
            "server": base,
            "rate": o["rate"],
            "seconds": o["warmup"] + o["duration"],
            "clients": o["clients"],
            "devices": prepared.devices,
            "kind": o["kind"],
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "alarms.management.alarm_load"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            out, err = proc.communicate(json.dumps(plan).encode(), timeout=plan["seconds"] + 60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            raise CommandError(f"the load process failed:\n{err.decode(errors='replace')[-2000:]}")
        return json.loads(out)

    def _settle(self, prepared: Prepared, watch: SocketWatch, settle: float) -> dict[str, float]:
        """The alarm messages the platform kept (event_id -> received_at), once all are seen on
        the socket or `settle` seconds have passed."""
        until = time.monotonic() + settle
        while True:
            kept = {
                str(event_id): received_at.timestamp()
                for event_id, received_at in DeviceMessage.objects.filter(
                    device_id__in=prepared.device_ids, kind__in=ALARM_KINDS
                ).values_list("event_id", "received_at")
            }
            if time.monotonic() >= until or all(e in watch.first_seen for e in kept):
                return kept
            time.sleep(0.25)

    def _cleared(self, what: str, counts: dict[str, int]) -> None:
        self.stdout.write(f"{what}: " + ", ".join(f"{n} {name}" for name, n in counts.items()))

    def _report(self, f: dict[str, Any], o: dict) -> None:
        w = self.stdout.write
        how = f"{f['rate']:g}/s, open loop" if f["rate"] else "as fast as answered"
        w(
            f"POST /api/v1/alarms/  {how}, {f['clients']} connections, {f['devices']} devices; "
            f"measured {o['duration']:g} s after {o['warmup']:g} s warm-up"
        )
        w(
            f"  offered        {f['due_in_window']} alarms due in the window "
            f"({f['offered_per_s']:.1f}/s); {f['sent']} sent in all"
        )
        w(
            f"  accepted       {f['accepted_per_s']:.1f}/s (2xx answered in the window); "
            f"opened {f['opened']}, joined {f['joined']}"
        )
        w(
            f"  answer         p50 {f['answer_p50_ms']:.0f} ms  p99 {f['answer_p99_ms']:.0f} ms  "
            f"max {f['answer_max_ms']:.0f} ms  (from when due; sent late p99 "
            f"{f['sent_late_p99_ms']:.0f} ms)"
        )
        w(
            f"  to the socket  p50 {f['socket_p50_ms']:.0f} ms  p99 {f['socket_p99_ms']:.0f} ms  "
            f"max {f['socket_max_ms']:.0f} ms  (received_at to the operator's socket, "
            f"{f['socket_in_window']} alarms)"
        )
        w(
            f"  never seen     {f['never_seen']} of {f['kept']} kept"
            f"{'; ' + str(f['socket_repeats']) + ' pushed again' if f['socket_repeats'] else ''}"
        )
        w(f"  refused/failed {f['errors'] or 'none'}")
        w(
            f"  machine        {f['cpus']} CPUs, load average {f['load_before']:.2f} before, "
            f"{f['load_after']:.2f} after"
        )
        if o["json"]:
            w(json.dumps({k: (round(v, 1) if isinstance(v, float) else v) for k, v in f.items()}))
