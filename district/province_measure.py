"""What one process does, measured on the seeded province (district/province.py), step by step,
through the platform's own code: the web steps through its API (URL routing, middleware, JWT
authentication, throttles, serializers, the handler, the commit and the push after it) with
Django's test client in this process, and the workers' steps by calling the tasks' own
functions as a Celery worker's process would.

Each step runs its operations one after another: a web process (uvicorn running Django's
synchronous views on one thread per process) and a worker's thread each do one at a time. A
step's figures are its wall time, this process's CPU time, the queries it made, the events it
recorded (each is a push: docs/capacity.md), the CPU the database's backends spent meanwhile
(read from /proc, where PostgreSQL runs on this machine: the database is the run's own, so they
are this process's connections) and the Redis server's (INFO cpu: the whole server, so anything
else using it is counted too; the command prints the load average).

Nothing here is a model of the platform: every figure is the platform's own code timed.
"""

import functools
import json
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from celery.signals import after_task_publish
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from alarms.models import Alarm
from alarms.protocol import HEADER_DEVICE, HEADER_SIGNATURE, HEADER_TIMESTAMP, signature
from backend.accounts.models import Role, User
from backend.accounts.tokens import tokens_for
from backend.core.events import district_group, push_to_groups, user_group
from backend.core.models import Event, Heartbeat
from console.positions import worker_positions_push
from dispatch import services as dispatch_services
from dispatch.models import ServiceRequest
from district import province
from district.capacity import Load
from elders.models import AlarmDevice
from providers.models import Worker, WorkerPosition

ROUTINE_SERVICES = ["meal", "cleaning", "companionship", "welfare_check", "escort", "bathing"]
# Operators may each write 300 a minute: each does at most this many of a run's intakes.
INTAKES_PER_OPERATOR = 40
# Sockets listening to a district's group while pushes are timed: its consoles, as the plan
# assumes them.
CONSOLES_PER_DISTRICT = Load().consoles_per_district


@dataclass
class Figure:
    """One step's operations, timed in this process."""

    step: str
    lane: str  # where it runs: web, or a Celery queue's lane (backend/core/queues.py)
    ops: int
    wall_s: float
    cpu_s: float
    queries: int
    events: int
    db_cpu_s: float | None = None
    redis_cpu_s: float | None = None
    note: str = ""

    @property
    def wall_ms(self) -> float:
        return 1000 * self.wall_s / self.ops

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_s / self.ops

    @property
    def db_ms(self) -> float | None:
        return None if self.db_cpu_s is None else 1000 * self.db_cpu_s / self.ops

    @property
    def redis_ms(self) -> float | None:
        return None if self.redis_cpu_s is None else 1000 * self.redis_cpu_s / self.ops

    @property
    def per_second(self) -> float:
        """What one process does a second, one operation at a time."""
        return self.ops / self.wall_s

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "wall_ms": round(self.wall_ms, 3),
            "cpu_ms": round(self.cpu_ms, 3),
            "db_ms": None if self.db_ms is None else round(self.db_ms, 3),
            "redis_ms": None if self.redis_ms is None else round(self.redis_ms, 3),
            "per_second": round(self.per_second, 1),
        }


@dataclass
class SweepFigure:
    """One periodic task, run here over the seeded province: the median of its runs."""

    name: str
    task: str
    lane: str
    period_s: float
    runs: list[float] = field(default_factory=list)
    done: dict[str, Any] = field(default_factory=dict)

    @property
    def median_s(self) -> float:
        return statistics.median(self.runs)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "median_s": round(self.median_s, 4)}


# -- the servers' CPU -------------------------------------------------------------------


def _local(host: str | None) -> bool:
    return not host or host in ("127.0.0.1", "localhost", "::1") or host.startswith("/")


def _process_cpu_s(pid: int, command: str) -> float | None:
    """CPU seconds (user + system) of a process of this machine running `command`; None if it
    is gone, or is another program (a server in a container has pids of its own)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return None
    if not text[text.index("(") + 1 : text.rindex(")")].startswith(command):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backends_cpu() -> dict[int, float] | None:
    """The CPU so far of each PostgreSQL backend serving this database (this process's
    connections: the database is the run's own), None where PostgreSQL runs elsewhere."""
    if not _local(connection.settings_dict.get("HOST")):
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND backend_type = 'client backend'"
        )
        pids = [row[0] for row in cursor.fetchall()]
    return {pid: cpu for pid in pids if (cpu := _process_cpu_s(pid, "postgres")) is not None}


def _backends_spent(before: dict[int, float] | None) -> float | None:
    """What the backends spent since `before`; a backend that ended meanwhile (a pooled
    connection closed) is left out, a new one counted whole: never less than nothing."""
    after = _backends_cpu()
    if before is None or after is None:
        return None
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


@functools.cache
def _redis() -> Any:
    """One client for the run's reads of the Redis server (INFO), not one per step."""
    import redis

    return redis.Redis.from_url(f"{settings.REDIS_URL}/0")


def _redis_cpu_s() -> float:
    """The Redis server's own CPU so far (INFO cpu), wherever it runs."""
    info = _redis().info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


@contextmanager
def _timed(step: str, lane: str, ops: int, figures: list[Figure], note: str = "") -> Iterator[None]:
    if ops < 1:
        raise ValueError(f"{step}: nothing to measure (the seeded province has none)")
    last_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    db0 = _backends_cpu()
    redis0 = _redis_cpu_s()
    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    cpu0 = time.process_time()
    with connection.execute_wrapper(count):
        t0 = time.perf_counter()
        yield
        wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    redis_spent = _redis_cpu_s() - redis0
    figures.append(
        Figure(
            step=step,
            lane=lane,
            ops=ops,
            wall_s=wall,
            cpu_s=cpu,
            queries=queries,
            events=Event.objects.filter(pk__gt=last_event).count(),
            db_cpu_s=_backends_spent(db0),
            redis_cpu_s=redis_spent,
            note=note,
        )
    )


def _less(figure: Figure, fixed: Figure, note: str) -> Figure:
    """`figure` without the fixed cost `fixed` measured beside it (never below nothing)."""

    def minus(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else max(0.0, a - b)

    return Figure(
        step=figure.step,
        lane=figure.lane,
        ops=figure.ops,
        wall_s=max(1e-6, figure.wall_s - fixed.wall_s),
        cpu_s=max(0.0, figure.cpu_s - fixed.cpu_s),
        queries=max(0, figure.queries - fixed.queries),
        events=figure.events,
        db_cpu_s=minus(figure.db_cpu_s, fixed.db_cpu_s),
        redis_cpu_s=minus(figure.redis_cpu_s, fixed.redis_cpu_s),
        note=note,
    )


# -- the broker: what this run published is taken back out --------------------------------


class Published:
    """The ids of the tasks this process publishes while it is open, and their queues: the
    run's matching, offer expiries and notifications, which no worker is to run."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def _seen(self, sender: Any = None, headers: Any = None, routing_key: str = "", **_: Any):
        if headers and "id" in headers:
            self.ids[headers["id"]] = routing_key

    def __enter__(self) -> "Published":
        after_task_publish.connect(self._seen, weak=False)
        return self

    def __exit__(self, *exc: object) -> None:
        after_task_publish.disconnect(self._seen)

    def _queued(self) -> Iterator[tuple[Any, Any, Any]]:
        """(client, key, raw message) of each message this run published still in a Redis
        broker's queues (a queue's priority lists included)."""
        if not settings.CELERY_BROKER_URL.startswith("redis"):
            return
        import redis

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        for queue in set(self.ids.values()):
            for key in [queue.encode(), *client.scan_iter(match=f"{queue}\x06\x16*")]:
                for raw in client.lrange(key, 0, -1):
                    try:
                        task_id = json.loads(raw)["headers"]["id"]
                    except (ValueError, KeyError, TypeError):
                        continue
                    if task_id in self.ids:
                        yield client, key, raw

    def message_bytes(self) -> float:
        """The average size of a published task's message as the broker holds it."""
        sizes = [len(raw) for _, _, raw in self._queued()]
        return statistics.mean(sizes) if sizes else 0.0

    def take_back(self) -> int:
        """Remove the published messages from a Redis broker's queues; how many. Elsewhere
        (RabbitMQ) they are left, and the tasks find their work orders gone."""
        return sum(client.lrem(key, 1, raw) for client, key, raw in list(self._queued()))


# -- the steps ----------------------------------------------------------------------------


class Api:
    """The platform's API in this process, as its apps call it."""

    def __init__(self) -> None:
        self.client = Client(HTTP_HOST="localhost")
        self.errors: list[str] = []

    def post(self, path: str, body: Any, *, token: str | None = None, **headers: str) -> Any:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = self.client.post(
            path, data=raw, content_type="application/json", headers=headers
        )
        if response.status_code >= 300:
            self.errors.append(f"{path} {response.status_code}: {response.content[:300]!r}")
            return None
        return response.json()

    def get(self, path: str, *, token: str) -> Any:
        response = self.client.get(path, headers={"Authorization": f"Bearer {token}"})
        if response.status_code >= 300:
            self.errors.append(f"{path} {response.status_code}: {response.content[:300]!r}")
            return None
        return response.json()


def access(user: User) -> str:
    return str(tokens_for(user, second_factor=user.role != Role.WORKER).access_token)


def intake(api: Api, seeded: province.Seeded, n: int, rng: Any, figures: list[Figure]) -> list[int]:
    """`POST /api/v1/requests/` by operators, each with an Idempotency-Key."""
    count = max(seeded.districts, -(-n // INTAKES_PER_OPERATOR))
    operators = province.users_for(seeded.district_ids, Role.OPERATOR, count, "operator")
    tokens: dict[int | None, list[str]] = {op.district_id: [] for op in operators}
    for op in operators:
        tokens[op.district_id].append(access(op))
    elders = list(province_elders(seeded).values_list("pk", "district_id").order_by("?")[:n])
    made = []
    with _timed("intake", "web", len(elders), figures, "POST /api/v1/requests/ (operator)"):
        for i, (elder, district) in enumerate(elders):
            pool = tokens[district]
            answer = api.post(
                "/api/v1/requests/",
                {"elder": elder, "service_type": rng.choice(ROUTINE_SERVICES)},
                token=pool[i % len(pool)],
                **{"Idempotency-Key": str(uuid.uuid4())},
            )
            if answer is not None:
                made.append(answer["id"])
    return made


def events_feed(api: Api, seeded: province.Seeded, n: int, figures: list[Figure]) -> None:
    """`GET /api/v1/events/?after=` as an app reads it after a reconnect: half by the
    districts' operators (their district's events), half by workers the run offered work to
    (the events naming them), each from its own twentieth newest event, so that each read
    answers what it missed. Records how many events the reads returned, a check that they
    read something."""
    from backend.core.events import events_visible_to
    from dispatch.models import JobOffer

    operators = User.objects.filter(
        username__startswith=f"{province.USERNAME}operator-", district_id__in=seeded.district_ids
    )
    workers = User.objects.filter(
        pk__in=JobOffer.objects.filter(
            worker__provider__district_id__in=seeded.district_ids
        ).values("worker__user_id")
    )
    readers = []
    for user in [*operators[: max(1, n // 2)], *workers[: max(1, n // 2)]]:
        seen = list(events_visible_to(user).order_by("-pk").values_list("pk", flat=True)[:21])
        if len(seen) > 1:
            readers.append((access(user), seen[-1]))
    if not readers:
        raise ValueError("events feed: no reader has events to catch up on")
    returned = 0
    with _timed("events feed", "web", n, figures, "GET /api/v1/events/?after= (a reconnect)"):
        for i in range(n):
            token, after = readers[i % len(readers)]
            answer = api.get(f"/api/v1/events/?after={after}", token=token)
            returned += len(answer["events"]) if answer else 0
    figures[-1].note += f": {returned / n:.1f} events a read"


def province_elders(seeded: province.Seeded):
    from elders.models import Elder

    return Elder.objects.filter(district_id__in=seeded.district_ids)


def matching(request_ids: list[int], step: str, lane: str, figures: list[Figure]) -> float:
    """The `request_match` task's work, one work order after another. Returns the share that
    made an offer: a matching that found nobody (and escalated) is a cheaper path, and a plan
    from it would be wrong."""
    from dispatch.models import JobOffer

    with _timed(step, lane, len(request_ids), figures, "dispatch.tasks.request_match"):
        for pk in request_ids:
            dispatch_services.request_match(request_id=pk)
    offered = (
        JobOffer.objects.filter(request_id__in=request_ids).values("request_id").distinct().count()
    )
    return offered / len(request_ids) if request_ids else 0.0


def locations(api: Api, seeded: province.Seeded, n: int, rng: Any, figures: list[Figure]) -> None:
    """`POST /api/v1/workers/me/location/` from workers on shift, each stored (the last one
    kept was more than the minimum interval ago, as for a phone sending at that interval)."""
    workers = list(
        Worker.objects.filter(provider__district_id__in=seeded.district_ids, shift_state="on")
        .select_related("user", "position")
        .order_by("?")[:n]
    )
    long_ago = timezone.now() - timedelta(seconds=10 * settings.ANXIN["LOCATION_MIN_INTERVAL_S"])
    WorkerPosition.objects.filter(worker__in=workers).update(recorded_at=long_ago)
    tokens = [access(w.user) for w in workers]
    worker_positions_push()  # the map's batch so far: the timed one below has only these
    with _timed(
        "location update", "web", len(workers), figures, "POST /api/v1/workers/me/location/"
    ):
        for worker, token in zip(workers, tokens, strict=True):
            point = worker.position.point
            api.post(
                "/api/v1/workers/me/location/",
                {
                    "location": {
                        "type": "Point",
                        "coordinates": [point.x + rng.uniform(-1e-3, 1e-3), point.y],
                    }
                },
                token=token,
            )
    # The map's batch with every worker on shift moved (as each is within a period of 10 s
    # reports), then one with nobody moved (its fixed cost: the query, the cursor), taken off.
    on_shift = WorkerPosition.objects.filter(
        worker__provider__district_id__in=seeded.district_ids, on_shift=True
    )
    moved = on_shift.update(recorded_at=timezone.now())
    batch: list[Figure] = []
    with _timed("map positions", "device", moved, batch, "a batch"):
        worker_positions_push()
    on_shift.update(recorded_at=long_ago)  # before the batch's look back (OVERLAP)
    with _timed("map positions", "device", moved, batch, "an idle batch"):
        worker_positions_push()
    full, idle = batch
    figures.append(_less(full, idle, "per worker moved, the idle batch's cost taken off"))


def pushes(seeded: province.Seeded, n: int, figures: list[Figure]) -> dict[str, float]:
    """`push_to_groups` as `event_record` sends after a commit: to one user's group and the
    district's, with a socket in the first and CONSOLES_PER_DISTRICT in the second. Returns
    Redis's memory per group membership (a socket's place in a group)."""
    layer = get_channel_layer()
    groups: dict[str, list[str]] = {}
    for district in seeded.district_ids:
        groups[district_group(district)] = [
            f"specific.province!{district}-{i}" for i in range(CONSOLES_PER_DISTRICT)
        ]
    users = list(
        User.objects.filter(username__startswith=province.USERNAME, role=Role.WORKER).values_list(
            "pk", flat=True
        )[: max(1, n)]
    )
    for uid in users:
        groups[user_group(uid)] = [f"specific.province!user-{uid}"]
    memberships = sum(len(members) for members in groups.values())

    async def join(add: bool) -> None:
        for group, members in groups.items():
            for channel in members:
                await (layer.group_add if add else layer.group_discard)(group, channel)

    async_to_sync(join)(True)
    per_membership = _groups_memory(layer, list(groups)) / memberships
    districts = seeded.district_ids
    envelope = {
        "type": "request.offered",
        "id": 0,
        "at": timezone.now().isoformat(),
        "data": {"subject": {"type": "request", "id": 0}, "before": "matching", "after": "offered"},
    }
    with _timed("push", "web", n, figures, "two groups: a user's (1 socket) and a district's"):
        for i in range(n):
            push_to_groups(
                [user_group(users[i % len(users)]), district_group(districts[i % len(districts)])],
                envelope,
            )
    async_to_sync(join)(False)
    return {"bytes_per_membership": per_membership, "memberships": memberships}


def _groups_memory(layer: Any, groups: list[str]) -> int:
    """The bytes Redis holds for these groups' keys (MEMORY USAGE, exact): the server's whole
    used memory would count whatever else uses the server meanwhile."""
    import redis

    layers: Any = settings.CHANNEL_LAYERS
    host = layers["default"]["CONFIG"]["hosts"][0]
    client = redis.Redis.from_url(host["address"])
    return sum(int(client.memory_usage(layer._group_key(g), samples=0) or 0) for g in groups)


def _signed(serial: str, kind: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"event_id": str(uuid.uuid4()), "kind": kind, "at": timezone.now().isoformat()},
        separators=(",", ":"),
    ).encode()
    stamp = str(int(time.time()))
    return body, {
        HEADER_DEVICE: serial,
        HEADER_TIMESTAMP: stamp,
        HEADER_SIGNATURE: signature(province.DEVICE_SECRET, stamp, body),
    }


def device_messages(
    api: Api, serials: list[str], kind: str, step: str, figures: list[Figure]
) -> None:
    """Signed `POST /api/v1/alarms/`, one device each, as devices and their gateways send."""
    signed = [_signed(serial, kind) for serial in serials]
    with _timed(step, "web", len(signed), figures, f"POST /api/v1/alarms/ ({kind}, signed)"):
        for body, headers in signed:
            api.post("/api/v1/alarms/", body, **headers)


def alarm_dispatch(seeded: province.Seeded, figures: list[Figure]) -> list[int]:
    """What the alarm sweep does in a storm, for every alarm the run raised, each step timed:
    the dispatch of an alarm nobody acknowledged in time (an emergency work order through
    dispatch's own intake), then a re-send of one still not acknowledged (to every operator and
    the district's supervisors). The consoles have seen them (as open consoles do), so none is
    announced again. Returns the emergency work orders."""
    from alarms.services import alarm_dispatch_overdue, alarm_resend, alarms_shown

    alarms = Alarm.objects.filter(elder__district_id__in=seeded.district_ids)
    ids = list(alarms.filter(request__isnull=True).values_list("pk", flat=True))
    alarms_shown(alarm_ids=ids, at=timezone.now())
    past = timezone.now() - timedelta(seconds=1)
    alarms.update(dispatch_due_at=past)
    with _timed("alarm dispatch", "alarm", len(ids), figures, "alarm_dispatch_overdue"):
        for pk in ids:
            alarm_dispatch_overdue(alarm_id=pk)
    alarms.update(resend_at=past)
    with _timed("alarm re-send", "alarm", len(ids), figures, "alarm_resend"):
        for pk in ids:
            alarm_resend(alarm_id=pk)
    # Not due again while the sweeps are timed: their runs are the idle ones.
    alarms.update(resend_at=timezone.now() + timedelta(hours=1))
    return list(ServiceRequest.objects.filter(alarm__pk__in=ids).values_list("pk", flat=True))


def device_serials(seeded: province.Seeded, n: int, skip: int = 0) -> list[str]:
    return list(
        AlarmDevice.objects.filter(elder__district_id__in=seeded.district_ids)
        .order_by("pk")
        .values_list("serial", flat=True)[skip : skip + n]
    )


def heartbeats_apply(figures: list[Figure], count: int) -> None:
    """What the device lane does with the heartbeats just taken (last heard, watch)."""
    from alarms.tasks import device_messages_apply_pending

    with _timed("heartbeat apply", "device", count, figures, "device_messages_apply_pending"):
        while device_messages_apply_pending()["devices_applied"]:
            pass


def sweeps(repeat: int) -> list[SweepFigure]:
    """The periodic tasks beat sends at least once a minute (the deadlines' sweeps, the
    devices', the hotline's, the notifications', the map's positions), run here `repeat` times
    over the seeded province with what the steps before left in flight (offers waiting, alarms
    open). The hourly and daily ones (purges, care plans, providers' daily run) act on the whole
    database, not on the simulation's districts, and are left to beat. A sweep split by district
    (backend/core/shards.py) is timed whole, once: the plan says how many ways it needs."""
    from django.utils.module_loading import import_string

    from backend.core.queues import TASK_LANES

    # What the watchdog knows of the platform's own sweeps is put back afterwards: these runs
    # are the simulation's, and say nothing of whether the platform's beat and workers live.
    watched = list(Heartbeat.objects.all())
    figures: list[SweepFigure] = []
    try:
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            if entry["schedule"] > 60 or any(f.task == entry["task"] for f in figures):
                continue
            task = import_string(entry["task"])
            name = name.split(":")[0]  # a shard's entry: the sweep's own name
            figure = SweepFigure(name, entry["task"], TASK_LANES[entry["task"]], entry["schedule"])
            for _ in range(repeat):
                t0 = time.perf_counter()
                done = task()
                figure.runs.append(time.perf_counter() - t0)
                if isinstance(done, dict) and "skipped" in done:
                    raise RuntimeError(f"{name}: another run of it held its lock: {done}")
                figure.done = done if isinstance(done, dict) else {"result": done}
            figures.append(figure)
    finally:
        Heartbeat.objects.exclude(pk__in=[h.pk for h in watched]).delete()
        Heartbeat.objects.bulk_update(watched, ["last_ran_at", "watched_since", "stale_since"])
    return figures
