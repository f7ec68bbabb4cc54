"""A province planned from measured parts (issue 17, docs/capacity.md).

Seeds a province's shape at a size this machine holds (district/province.py: `--districts`
districts of the province's proportions, each `--scale` of a full one), measures what one process
does on it, step by step, through the platform's own code (district/province_measure.py):

- web: intake (`POST /api/v1/requests/`), the events feed after a reconnect, workers' location
  updates, signed alarms and heartbeats from devices, and pushes to the channel layer;
- workers: matching (routine, and an emergency's three offers), the alarm sweep's dispatch and
  re-send of alarms nobody acknowledged, the device lane's applying of heartbeats, the map's
  batch of positions, and every sweep beat sends at least once a minute;

and prints the capacity plan those figures imply for the full province (6 million elders,
100,000 workers, 100 districts, a storm of 5,000 alarms a minute): processes per queue, the
database's size and connections, Redis's memory, and which sweeps must be split by district,
with every assumption printed beside it (district/capacity.py).

It runs on a database of its own (it refuses one that holds any other district: the sweeps it
times act on every district, and a provider serves across district lines), with a Redis broker,
a notification backend that only records, and no Celery worker consuming its queues (they would
run the run's matching beside the measurement). It takes back out of the broker every task it
published and deletes what it seeded and made unless `--keep`, however it ends. `--clear` only
deletes a kept or killed run's districts.
"""

import json
import os
import random
import signal
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import override_settings

from backend.accounts.models import District
from backend.core.broker import REDIS, broker_transport
from backend.core.management.benchmarks import benchmark_allowed
from backend.core.queues import queue_consumers, routed_queues
from district import capacity, province
from district import province_measure as measure
from providers.models import Certificate, Worker

# One run at a time on a database ("anxin" + "PS"): two would delete each other's districts.
RUN_LOCK = 0x616E78696E_5053


def _index_entry_bytes(cursor: Any, table: str) -> float:
    """The bytes of a row's entries in the table's indexes, from the average width of each
    index's columns: an entry's header (8) and line pointer (4) beside its key, in pages 90 %
    full (B-tree's leaves). Expression columns are left out, and a partial index is counted
    as if it held every row: an estimate, for a table with too few rows to measure."""
    cursor.execute(
        "SELECT array_agg(a.attname) FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s::regclass GROUP BY i.indexrelid",
        [table],
    )
    total = 0.0
    for (columns,) in cursor.fetchall():
        widths = " + ".join(f"pg_column_size({connection.ops.quote_name(c)})" for c in columns)
        cursor.execute(
            f"SELECT coalesce(avg({widths}), 0) FROM {connection.ops.quote_name(table)}"  # noqa: S608
        )
        total += (float(cursor.fetchone()[0]) + 12) / 0.9
    return total


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


# Notification backends that send nothing (backend/telephony/backends.py).
RECORDING_BACKENDS = (
    "backend.telephony.backends.FileBackend",
    "backend.telephony.backends.RecordingBackend",
)
# Below this share of matchings that made an offer, the figures are of the path that found
# nobody, and the command says so.
MIN_OFFERED = 0.8

SIZED_TABLES = [
    "elders_elder",
    "elders_alarmdevice",
    "providers_worker",
    "providers_workerposition",
    "providers_certificate",
    "accounts_user",
    "dispatch_servicerequest",
    "dispatch_joboffer",
    "core_event",
    "alarms_devicemessage",
]


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def add_arguments(self, parser):
        parser.add_argument("--districts", type=int, default=10, help="districts seeded (1-100)")
        parser.add_argument(
            "--scale", type=float, default=0.1, help="each district's size, of a full one"
        )
        parser.add_argument("--operations", type=int, default=300, help="operations timed per step")
        parser.add_argument("--sweep-repeat", type=int, default=3)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--keep", action="store_true", help="keep what was seeded and made")
        parser.add_argument("--clear", action="store_true", help="only delete a kept run")
        parser.add_argument("--json", action="store_true", help="the figures and plan as JSON")

    def handle(self, *args, **o):
        benchmark_allowed("simulate_province", "a province of districts of its own")
        self._refuse_unless_alone()
        if not o["clear"]:
            self._check_arguments(o)
            self._refuse_unless_measurable()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [RUN_LOCK])
            if not cursor.fetchone()[0]:
                raise CommandError("another simulate_province is running on this database")
        if o["clear"]:
            try:
                self.stdout.write(f"deleted: {province.clear()}")
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK])
            return
        # SIGTERM ends the run through the clean-up below, as Ctrl-C does.
        previous = signal.signal(signal.SIGTERM, _terminate)
        try:
            province.clear()
            self._vacuum()
            try:
                result = self._run(o)
            except ValueError as exc:  # a step with nothing to measure in what was seeded
                raise CommandError(f"{exc}: seed more (--scale, --districts)") from exc
            finally:
                if not o["keep"]:
                    province.clear()
        finally:
            signal.signal(signal.SIGTERM, previous)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK])
        self._report(result, o)

    def _refuse_unless_alone(self) -> None:
        """The province is measured alone, on a database of its own: the sweeps it times act on
        every district, a provider serves across district lines, and the clean-up deletes
        whatever refers to what it made. A database that holds any other district is refused."""
        others = District.objects.exclude(code__startswith=province.CODE_PREFIX)
        if others.exists():
            raise CommandError(
                f"this database holds {others.count()} other districts: simulate_province "
                "measures a province alone, on a database of its own (docs/capacity.md: "
                "createdb, then DATABASE_URL=... manage.py migrate, then this command)"
            )

    def _check_arguments(self, o: dict) -> None:
        if not 1 <= o["districts"] <= province.PROVINCE.districts:
            raise CommandError(f"--districts: 1 to {province.PROVINCE.districts}")
        if not 0 < o["scale"] <= 1:
            raise CommandError("--scale: more than 0, at most 1 (a full district)")
        if o["operations"] < 1:
            raise CommandError("--operations: at least 1")
        if o["sweep_repeat"] < 1:
            raise CommandError("--sweep-repeat: at least 1")

    def _refuse_unless_measurable(self) -> None:
        if current_app.conf.task_always_eager:
            raise CommandError(
                "tasks run where they are sent here (CELERY_TASK_ALWAYS_EAGER): each step's "
                "figures would take in the work of the next; run it with a broker"
            )
        if broker_transport(settings.CELERY_BROKER_URL) != REDIS:
            raise CommandError(
                "the tasks this run publishes are taken back out of a Redis broker only: "
                "run it with the default broker (REDIS_URL), not CELERY_BROKER_URL"
            )
        if settings.NOTIFICATION_BACKEND not in RECORDING_BACKENDS:
            raise CommandError(
                "the run's offers and emergencies would send SMS and calls through "
                f"{settings.NOTIFICATION_BACKEND}: run it with a backend that only records "
                f"them (ANXIN_NOTIFICATION_BACKEND: {', '.join(RECORDING_BACKENDS)})"
            )
        consumers = {
            worker: sorted(queues & routed_queues())
            for worker, queues in queue_consumers(routed_queues(), timeout=1.0).items()
            if queues & routed_queues()
        }
        if consumers:
            raise CommandError(
                f"Celery workers consume this run's queues ({consumers}): they would run the "
                "run's work beside the measurement. Stop them first"
            )

    def _run(self, o: dict) -> dict[str, Any]:
        say = self.stdout.write
        shape = province.PROVINCE
        load_before = os.getloadavg()
        say(f"seeding {o['districts']} districts at {o['scale']:g} of a full one")
        seeded = province.seed(
            districts=o["districts"], scale=o["scale"], seed=o["seed"], shape=shape, say=say
        )
        from alarms.devices import devices_watch

        while devices_watch(limit=5000):  # the device lane's statuses, as beat would make them
            pass
        rng = random.Random(o["seed"])
        n = o["operations"]
        api = measure.Api()
        figures: list[measure.Figure] = []
        published = measure.Published()
        # Measured as production runs: without DEBUG's recording of every query.
        with published, override_settings(DEBUG=False):
            try:
                say("measuring: intake, matching, the events feed")
                made = measure.intake(api, seeded, n, rng, figures)
                offered = {"matching": measure.matching(made, "matching", "routine", figures)}
                measure.events_feed(api, seeded, n, figures)
                say("measuring: location updates, pushes")
                measure.locations(api, seeded, n, rng, figures)
                redis = measure.pushes(seeded, n, figures)
                say("measuring: alarms, their dispatch, the emergency's matching")
                alarms = min(n, seeded.devices // 2)
                measure.device_messages(
                    api, measure.device_serials(seeded, alarms), "sos", "alarm", figures
                )
                emergencies = measure.alarm_dispatch(seeded, figures)
                offered["emergency matching"] = measure.matching(
                    emergencies, "emergency matching", "urgent", figures
                )
                say("measuring: heartbeats")
                serials = measure.device_serials(seeded, alarms, skip=alarms)
                measure.device_messages(api, serials, "heartbeat", "heartbeat", figures)
                measure.heartbeats_apply(figures, len(serials))
                say("measuring: the sweeps")
                sweeps = measure.sweeps(o["sweep_repeat"])
                redis["bytes_per_message"] = published.message_bytes()
                sizes = self._sizes(seeded)
            finally:
                taken_back = published.take_back()
        low = {step: share for step, share in offered.items() if share < MIN_OFFERED}
        if low:
            self.stderr.write(
                f"warning: matching made an offer for only {low} of its work orders: the plan "
                "times the cheaper path of finding nobody (seed more, --scale)"
            )
        if api.errors:
            raise CommandError(f"{len(api.errors)} API calls failed, the first: {api.errors[0]}")
        events_per = {f.step: f.events / f.ops for f in figures if f.ops}
        plan = capacity.plan(
            figures=[f.as_dict() for f in figures],
            sweep_figures=[s.as_dict() for s in sweeps],
            sizes=sizes,
            events_per=events_per,
            redis=redis,
            shape=shape,
            load=capacity.Load(),
        )
        return {
            "seeded": {
                "districts": seeded.districts,
                "elders": seeded.elders,
                "workers": seeded.workers,
                "providers": seeded.providers,
                "devices": seeded.devices,
            },
            "machine": {
                "cpus": os.cpu_count(),
                "load_before": [round(x, 2) for x in load_before],
                "load_after": [round(x, 2) for x in os.getloadavg()],
            },
            "figures": [f.as_dict() for f in figures],
            "sweeps": [s.as_dict() for s in sweeps],
            "redis_measured": redis,
            "bytes_per_row": sizes,
            "tasks_taken_back": taken_back,
            "offered": offered,
            "plan": plan,
        }

    def _vacuum(self) -> None:
        """Give back the space of an earlier run's deleted rows before seeding (tables and
        their indexes rewritten: a plain VACUUM keeps the index files' size), so that the bytes
        per row measured after it are this run's rows'. Cheap: the database is the run's own."""
        with connection.cursor() as cursor:
            for table in SIZED_TABLES:
                cursor.execute(f"VACUUM FULL {connection.ops.quote_name(table)}")

    def _sizes(self, seeded: province.Seeded) -> dict[str, float]:
        """Bytes per row of each table the plan sizes: the rows' own average size (with the
        tuple's header) and the table's indexes and TOAST per row, where the table holds
        enough rows for that to be more than empty pages (else the row alone: a tiny run's
        sizes are not a plan's)."""
        sizes: dict[str, float] = {}
        with connection.cursor() as cursor:
            for table in SIZED_TABLES:
                cursor.execute(
                    f"SELECT count(*), avg(pg_column_size(t.*)), pg_relation_size(%s), "  # noqa: S608
                    f"pg_total_relation_size(%s) FROM {connection.ops.quote_name(table)} t",
                    [table, table],
                )
                rows, row_bytes, heap, total = cursor.fetchone()
                if not rows:
                    continue
                # pg_column_size counts the row's header; its line pointer is 4 bytes more.
                row = float(row_bytes) + 4
                # Indexes and TOAST per row, where there are rows enough to fill their pages;
                # else the indexes' entries from their keys' widths.
                full = rows >= 1000
                extra = (total - heap) / rows if full else _index_entry_bytes(cursor, table)
                sizes[table] = row + extra
        workers = Worker.objects.filter(provider__district_id__in=seeded.district_ids).count()
        certificates = Certificate.objects.filter(
            worker__provider__district_id__in=seeded.district_ids
        ).count()
        sizes["certificates_per_worker"] = certificates / max(1, workers)
        return sizes

    def _report(self, r: dict[str, Any], o: dict) -> None:
        w = self.stdout.write
        s, m, plan = r["seeded"], r["machine"], r["plan"]
        w("")
        w(
            f"seeded: {s['districts']} districts, {s['elders']:,} elders, {s['workers']:,} "
            f"workers of {s['providers']:,} providers, {s['devices']:,} alarm devices"
        )
        w(
            f"machine: {m['cpus']} CPUs, load average {m['load_before']} before, "
            f"{m['load_after']} after"
        )
        w("")
        w("per process, one operation at a time (ms per operation; db and redis: CPU of their")
        w("processes on this machine meanwhile, '-' where they run elsewhere)")
        w(
            f"  {'step':<20}{'lane':<8}{'ops':>5}{'wall ms':>9}{'cpu ms':>8}{'db ms':>7}"
            f"{'redis ms':>9}{'queries':>8}{'events':>7}{'/s':>8}"
        )
        for f in r["figures"]:
            db = "-" if f["db_ms"] is None else f"{f['db_ms']:.2f}"
            redis = "-" if f["redis_ms"] is None else f"{f['redis_ms']:.2f}"
            w(
                f"  {f['step']:<20}{f['lane']:<8}{f['ops']:>5}{f['wall_ms']:>9.2f}"
                f"{f['cpu_ms']:>8.2f}{db:>7}{redis:>9}{f['queries'] / f['ops']:>8.1f}"
                f"{f['events'] / f['ops']:>7.1f}{f['per_second']:>8.1f}"
            )
        for step, share in r["offered"].items():
            w(f"  {step}: {share:.0%} made an offer (the rest found nobody and escalated)")
        w("")
        w("the full province at its peak; assumed:")
        shape, load = plan["shape"], plan["load"]
        w(f"  shape: {', '.join(f'{k} {v:,}' for k, v in shape.items())}")
        w(f"  load: {', '.join(f'{k} {v:g}' for k, v in load.items())}")
        w("operations a second")
        for step, rate in plan["rates_per_s"].items():
            w(f"  {step:<20}{rate:>10,.1f}")
        w(f"processes per queue (each busy at most {load['utilisation']:.0%} of the time)")
        for lane, p in plan["lanes"].items():
            threads = "" if lane == "web" else f" x {p['threads']} threads"
            w(f"  {lane:<8}{p['processes']:>5}{threads}   ({'; '.join(p['work'])})")
        w("sweeps (each alone under its lock or one at a time from beat)")
        for sw in plan["sweeps"]:
            due = "".join(f" + {n:,} {step}" for step, n in sw["due_per_run"].items())
            if sw["shards"] == 1:
                verdict = "fits"
            elif sw["setting"]:
                verdict = f"split {sw['shards']} ways: {sw['setting']}={sw['shards']}"
            else:
                verdict = f"needs splitting {sw['shards']} ways, which it cannot be yet"
            w(
                f"  {sw['name']:<16}every {sw['period_s']:>4g} s: idle {sw['idle_ms']:>7.1f} ms"
                f"{due}: {sw['province_s']:.2f} s a run ({sw['share_of_period']:.0%}): {verdict}"
            )
        sv = plan["servers"]
        if sv["measured"]:
            w(
                f"servers: PostgreSQL {sv['postgres_cores']} cores ({sv['postgres_shards']} "
                f"primaries of {load['db_host_cores']} cores), Redis {sv['redis_cores']} cores "
                f"({sv['redis_instances']} instances, one core each)"
            )
        db = plan["database"]
        w(
            f"database after {load['years_kept']:g} year: {db['total_gb']:,} GB "
            f"({db['requests_a_year']:,} work orders, {db['events_per_request']} events each)"
        )
        for table, t in db["tables"].items():
            w(f"  {table:<26}{t['rows']:>15,} rows x {t['bytes_per_row']:>5} B = {t['gb']:>9,} GB")
        c = plan["connections"]
        w(
            f"connections: {c['web_through_pgbouncer']} from the web through PgBouncer, "
            f"{c['workers_direct']} from the workers and beat directly: {c['total']}"
        )
        w(f"pushes: {plan['pushes_per_s']:,} a second (each event, after its commit)")
        rd = plan["redis"]
        w(
            f"redis memory: {rd['sockets']:,} sockets ({rd['channel_layer_mb']} MB of group "
            f"memberships), {rd['messages_in_flight']:,} tasks in flight ({rd['broker_mb']} MB): "
            f"{rd['total_mb']} MB"
        )
        w(f"(tasks published and taken back out of the broker: {r['tasks_taken_back']})")
        if o["json"]:
            w(json.dumps(r, default=str))
