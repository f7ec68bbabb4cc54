"""The capacity plan a province's figures imply (`manage.py simulate_province`, docs/capacity.md).

Arithmetic only: what was measured (district/province_measure.py) times the province's load
(`Load`, every assumption stated there and printed with the plan) gives processes per queue,
the database's size and connections, and Redis's memory. Kept apart from the measuring so that
the arithmetic is tested on its own figures.
"""

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from alarms.tasks import SWEEP_BATCH as ALARM_SWEEP_BATCH
from district.province import Shape

# Threads per worker process, as deploy/up and deploy/k8s/workers.yaml run them.
THREADS = {"alarm": 2, "urgent": 4, "routine": 4, "notify": 8, "device": 2, "bulk": 1}


@dataclass(frozen=True)
class Load:
    """The province's load in its busiest hour: assumptions, each stated where it is printed."""

    requests_per_elder_per_month: float = 2.0  # work orders: meals, cleaning, visits, checks
    peak_hour_share: float = 0.12  # of a day's work orders, asked for in its busiest hour
    matchings_per_request: float = 1.5  # half the work orders need a second round of offers
    location_every_s: float = 10.0  # LOCATION_MIN_INTERVAL_S: the worker app sends at it
    heartbeat_every_s: float = 3600.0  # AlarmDevice's default interval
    storm_unacknowledged: float = 1.0  # of a storm's alarms, dispatched by the platform itself
    storm_open_minutes: float = 10.0  # a storm's alarm stays open this long before it is taken
    alarm_resend_every_s: float = 30.0  # ALARM_ACK_WITHIN_S: an open alarm is re-sent at it
    events_after_matching: float = 6.0  # accept, on the way, arrive, check in, out, rating
    consoles_per_district: int = 10  # operators' and supervisors' consoles open
    families_online: float = 0.01  # of elders, a family page open at the peak
    reconnect_every_s: float = 600.0  # a socket's reconnect (phones move), then a feed read
    offer_wait_s: float = 300.0  # a routine offer's timeout: its expiry task waits that long
    utilisation: float = 0.6  # processes, cores and Redis are sized to be busy this share
    years_kept: float = 1.0  # the database's size after this long of work orders and events
    db_host_cores: int = 32  # one PostgreSQL primary's cores, for how many shards


@dataclass
class LanePlan:
    lane: str
    work: list[str] = field(default_factory=list)  # "step: rate/s x ms"
    busy_s: float = 0.0  # seconds of one-at-a-time work per second
    cpu_s: float = 0.0  # of which this interpreter's CPU
    processes: int = 0
    threads: int = 1


def sockets(shape: Shape, load: Load) -> float:
    """WebSockets open at the peak: workers on shift, the consoles, families on the page."""
    return (
        shape.workers * shape.on_shift_at_peak
        + shape.districts * load.consoles_per_district
        + shape.elders * load.families_online
    )


def rates(shape: Shape, load: Load) -> dict[str, float]:
    """Operations a second at the province's peak, by step (the steps' names as measured)."""
    intake = shape.elders * load.requests_per_elder_per_month / 30 * load.peak_hour_share / 3600
    storm = shape.storm_alarms_per_minute / 60
    devices = shape.elders * shape.devices_per_elder
    return {
        "intake": intake,
        "matching": intake * load.matchings_per_request,
        "events feed": sockets(shape, load) / load.reconnect_every_s,
        "location update": shape.workers * shape.on_shift_at_peak / load.location_every_s,
        # Each update is a moved worker in the next batch of the map's positions.
        "map positions": shape.workers * shape.on_shift_at_peak / load.location_every_s,
        "heartbeat": devices / load.heartbeat_every_s,
        "heartbeat apply": devices / load.heartbeat_every_s,
        "alarm": storm,
        "alarm dispatch": storm * load.storm_unacknowledged,
        # Every alarm open is re-sent every ALARM_ACK_WITHIN_S until somebody takes it.
        "alarm re-send": storm * load.storm_open_minutes * 60 / load.alarm_resend_every_s,
        "emergency matching": storm * load.storm_unacknowledged,
    }


def lanes(figures: list[dict[str, Any]], shape: Shape, load: Load) -> dict[str, LanePlan]:
    """Processes per lane: for the web, one request at a time per process (uvicorn runs
    Django's synchronous views on one thread); for a worker of T threads, T at a time but never
    more than one interpreter's CPU (the GIL)."""
    at = rates(shape, load)
    plans: dict[str, LanePlan] = {}
    for f in figures:
        rate = at.get(f["step"])
        if rate is None:
            continue
        plan = plans.setdefault(f["lane"], LanePlan(f["lane"], threads=THREADS.get(f["lane"], 1)))
        plan.work.append(f"{f['step']}: {rate:,.1f}/s x {f['wall_ms']:.2f} ms")
        plan.busy_s += rate * f["wall_ms"] / 1000
        plan.cpu_s += rate * f["cpu_ms"] / 1000
    for plan in plans.values():
        per_process = max(plan.busy_s / plan.threads, plan.cpu_s)
        plan.processes = max(1, math.ceil(per_process / load.utilisation))
    return plans


# The most items of each step one run takes.
SWEEP_BATCH = {"alarms": ALARM_SWEEP_BATCH}
# The setting that splits each sweep that can be split (backend/core/shards.py).
SHARD_SETTINGS = {
    "alarms": "ANXIN_ALARM_SWEEP_SHARDS",
    "device-messages": "ANXIN_DEVICE_APPLY_SHARDS",
}
# The sweeps whose every run has work due at the province's peak, and the step that measured
# one item of it: the alarm sweep dispatches what nobody acknowledged (a storm), the map's batch
# carries every moved worker, the device lane applies every heartbeat. The others find work
# only when a timer was lost (the tasks and services do it on time): their runs are idle ones.
SWEEP_WORK = {
    "alarms": ["alarm dispatch", "alarm re-send"],
    "map-positions": ["map positions"],
    "device-messages": ["heartbeat apply"],
}


def sweeps(
    sweep_figures: list[dict[str, Any]], figures: list[dict[str, Any]], shape: Shape, load: Load
) -> list[dict]:
    """Each sweep's run at the province's peak: its idle run as measured here (it finds due
    rows by index, so its cost grows with what is due rather than with the tables: the runs at
    two sizes in docs/capacity.md show it) plus what falls due in one period times one item's
    measured cost. A sweep runs alone under its advisory lock (or one at a time from beat), so
    more processes do not make it faster: one whose run would not fit in half its period is
    split by district, each group of districts with its own lock and beat entry."""
    at = rates(shape, load)
    per_item = {f["step"]: f["wall_ms"] / 1000 for f in figures}
    planned = []
    for s in sweep_figures:
        steps = [step for step in SWEEP_WORK.get(s["name"], []) if step in per_item]
        due = {step: at[step] * s["period_s"] for step in steps}
        run_s = s["median_s"] + sum(n * per_item[step] for step, n in due.items())
        half = s["period_s"] / 2
        # A run takes at most `batch` items of each step: what falls due beyond it waits.
        batch = SWEEP_BATCH.get(s["name"])
        by_batch = max((math.ceil(n / batch) for n in due.values()), default=1) if batch else 1
        planned.append(
            {
                "name": s["name"],
                "lane": s["lane"],
                "period_s": s["period_s"],
                "idle_ms": round(1000 * s["median_s"], 1),
                "due_per_run": {step: round(n) for step, n in due.items()},
                "province_s": round(run_s, 2),
                "share_of_period": round(run_s / s["period_s"], 3),
                "shards": max(1, math.ceil(run_s / half), by_batch),
                "setting": SHARD_SETTINGS.get(s["name"]),
            }
        )
    return planned


def cores(figures: list[dict[str, Any]], shape: Shape, load: Load) -> dict[str, Any]:
    """The servers' CPU at the peak, from their CPU per operation as measured here: PostgreSQL
    (cores, and primaries of `db_host_cores` to hold them: the shards by district) and Redis
    (single-threaded: one core is all one instance has)."""
    at = rates(shape, load)
    db = sum(at[f["step"]] * (f["db_ms"] or 0) / 1000 for f in figures if f["step"] in at)
    redis = sum(at[f["step"]] * (f["redis_ms"] or 0) / 1000 for f in figures if f["step"] in at)
    measured = all(f["db_ms"] is not None for f in figures)
    return {
        "measured": measured,
        "postgres_cores": round(db, 1),
        "postgres_shards": max(1, math.ceil(db / (load.db_host_cores * load.utilisation))),
        "redis_cores": round(redis, 2),
        "redis_instances": max(1, math.ceil(redis / load.utilisation)),
    }


def database(
    sizes: dict[str, float], events_per: dict[str, float], shape: Shape, load: Load
) -> dict[str, Any]:
    """The database's size after `years_kept`: bytes per row as measured (heap and indexes)
    times the province's rows. `sizes`: bytes per row by table; `events_per`: events measured
    per intake, per matching, per alarm and its dispatch."""
    at = rates(shape, load)
    requests_a_year = shape.elders * load.requests_per_elder_per_month * 12 * load.years_kept
    events_per_request = (
        events_per.get("intake", 0)
        + load.matchings_per_request * events_per.get("matching", 0)
        + load.events_after_matching
    )
    rows = {
        "elders_elder": shape.elders,
        "elders_alarmdevice": shape.elders * shape.devices_per_elder,
        "providers_worker": shape.workers,
        "providers_workerposition": shape.workers,
        "providers_certificate": shape.workers * sizes.get("certificates_per_worker", 1),
        "accounts_user": shape.workers + shape.elders * 0.5,  # workers, one family user per two
        "dispatch_servicerequest": requests_a_year,
        "dispatch_joboffer": requests_a_year * load.matchings_per_request,
        "core_event": requests_a_year * events_per_request,
        # Heartbeats are kept DEVICE_MESSAGE_KEEP_DAYS (30): a month of them at any time.
        "alarms_devicemessage": at["heartbeat"] * 86400 * 30,
    }
    tables = {
        table: {"rows": round(n), "bytes_per_row": round(sizes.get(table, 0)), "gb": 0.0}
        for table, n in rows.items()
    }
    for table in tables.values():
        table["gb"] = round(table["rows"] * table["bytes_per_row"] / 1e9, 1)
    return {
        "tables": tables,
        "total_gb": round(sum(t["gb"] for t in tables.values()), 1),
        "events_per_request": round(events_per_request, 1),
        "requests_a_year": round(requests_a_year),
    }


def connections(plans: dict[str, LanePlan]) -> dict[str, int]:
    """Server connections: the web's through PgBouncer (transaction mode: one per request in
    flight, at most one per web process), the workers' direct (a thread each and the
    watchdog's, as deploy/up budgets them), and beat's."""
    web = plans["web"].processes if "web" in plans else 0
    workers = sum(p.processes * (p.threads + 1) for lane, p in plans.items() if lane != "web")
    return {
        "web_through_pgbouncer": web,
        "workers_direct": workers + 1,
        "total": web + workers + 1,
    }


def redis_memory(
    measured: dict[str, float], shape: Shape, load: Load, offer_rate: float
) -> dict[str, Any]:
    """Redis's memory at the peak: sockets' group memberships (each socket is in its user's
    group, staff also in their district's) and the broker's messages in flight (offer expiries
    wait their timeout as messages; a storm's backlog of an urgent lane that keeps up is small).
    Not in it: the cache (throttles' histories, token versions) and the channel layer's
    messages on their way to a socket, both short-lived."""
    open_sockets = sockets(shape, load)
    memberships = open_sockets + shape.districts * load.consoles_per_district
    channel_layer = memberships * measured.get("bytes_per_membership", 0)
    in_flight = offer_rate * load.offer_wait_s + shape.storm_alarms_per_minute
    # A message is in its queue's list, or (taken, not yet acknowledged) in the unacked hash.
    broker = in_flight * measured.get("bytes_per_message", 0)
    return {
        "sockets": round(open_sockets),
        "channel_layer_mb": round(channel_layer / 1e6, 1),
        "messages_in_flight": round(in_flight),
        "broker_mb": round(broker / 1e6, 1),
        "total_mb": round((channel_layer + broker) / 1e6, 1),
    }


def plan(
    *,
    figures: list[dict[str, Any]],
    sweep_figures: list[dict[str, Any]],
    sizes: dict[str, float],
    events_per: dict[str, float],
    redis: dict[str, float],
    shape: Shape,
    load: Load,
) -> dict[str, Any]:
    lane_plans = lanes(figures, shape, load)
    at = rates(shape, load)
    planned_sweeps = sweeps(sweep_figures, figures, shape, load)
    # A split sweep's shards run at once, each on a thread of its lane.
    for sweep in planned_sweeps:
        lane = lane_plans.get(sweep["lane"])
        if lane is not None and sweep["shards"] > 1:
            lane.processes = max(lane.processes, math.ceil(sweep["shards"] / lane.threads))
    servers = cores(figures, shape, load)
    # Every event is pushed once it commits (backend/core/events.py), as part of its step.
    pushes = sum(at.get(step, 0.0) * per for step, per in events_per.items())
    return {
        "shape": asdict(shape),
        "load": asdict(load),
        "rates_per_s": {k: round(v, 1) for k, v in at.items()},
        "lanes": {k: asdict(v) for k, v in lane_plans.items()},
        "sweeps": planned_sweeps,
        "servers": servers,
        "database": database(sizes, events_per, shape, load),
        "connections": connections(lane_plans),
        "pushes_per_s": round(pushes, 1),
        "redis": redis_memory(redis, shape, load, at["matching"]),
    }
