"""Intake under load, end to end: `POST /api/v1/requests/` over HTTP against the running
platform (its ASGI server, its Celery workers matching and offering), at a given concurrency,
and the time from each intake to its first offer arriving on a worker's WebSocket.

Seeds a benchmark district of its own (code 229998000000): one provider, workers on shift around
a centre with every skill and certificate, elders around them, and operators with an
authenticator each. Operators sign in over HTTP as an app would; the clients share them out so
that none passes the operators' write throttle. Every request carries an Idempotency-Key, as the
apps send one. Workers never answer: offers simply wait. Everything seeded, and everything the
run made in that district, is deleted at the end unless --keep.

Prints requests/s, latency percentiles, error counts and intake-to-offer percentiles. The client
runs on the same machine as the platform and takes CPU from it: the figures are what the
platform does with the load generator beside it, as on a developer's or CI's machine.
"""

import asyncio
import http.client
import json
import math
import os
import random
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import Point
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from django_otp.oath import TOTP

from backend.accounts.models import District, Role, User
from backend.accounts.services import user_otp_enrol
from backend.core.management.benchmarks import benchmark_allowed
from dispatch.catalogue import CATALOGUE
from elders.models import Elder
from providers.models import (
    Certificate,
    Provider,
    ProviderService,
    ShiftState,
    Worker,
    WorkerPosition,
)
from providers.services import positions_sync

CODE = "229998000000"
PREFIX = f"bench-{CODE}-"
CENTRE = (125.30, 43.88)
PASSWORD = "benchmark-only-password"  # noqa: S105 - accounts of a throwaway district
# Services a worker does alone, no provider in between: each intake is matched and offered.
SERVICES = ["meal", "cleaning", "companionship", "welfare_check"]
CERTIFICATES = sorted({kind for row in CATALOGUE for kind in row[6]})
# Operators may each write 300 a minute: the clients spread their requests over enough of them
# to stay under that for a run of up to about 45 s at 150 requests/s.
OPERATORS = 32


def _around(rng: random.Random, radius_m: float) -> Point:
    r = radius_m * math.sqrt(rng.random()) / 111_320
    a = rng.uniform(0, 2 * math.pi)
    return Point(
        CENTRE[0] + r * math.cos(a) / math.cos(math.radians(CENTRE[1])),
        CENTRE[1] + r * math.sin(a),
        srid=4326,
    )


def clear() -> None:
    """Delete the benchmark district and everything in it, in dependency order."""
    district = District.objects.filter(code=CODE).first()
    with transaction.atomic(), connection.cursor() as cursor:
        if district is not None:
            d = [district.pk]
            for sql in (
                "DELETE FROM core_event WHERE district_id = %s",
                """DELETE FROM dispatch_operatoralert WHERE request_id IN (
                   SELECT id FROM dispatch_servicerequest WHERE district_id = %s)""",
                """DELETE FROM dispatch_joboffer WHERE request_id IN (
                   SELECT id FROM dispatch_servicerequest WHERE district_id = %s)""",
                "DELETE FROM dispatch_servicerequest WHERE district_id = %s",
                """DELETE FROM providers_workerposition WHERE worker_id IN (
                   SELECT w.id FROM providers_worker w JOIN providers_provider p
                   ON p.id = w.provider_id WHERE p.district_id = %s)""",
                """DELETE FROM providers_certificate WHERE worker_id IN (
                   SELECT w.id FROM providers_worker w JOIN providers_provider p
                   ON p.id = w.provider_id WHERE p.district_id = %s)""",
            ):
                cursor.execute(sql, d)
            Worker.objects.filter(provider__district=district).delete()
            ProviderService.objects.filter(provider__district=district).delete()
            Provider.objects.filter(district=district).delete()
            Elder.objects.filter(district=district).delete()
        # Events naming the benchmark's users outside the district (sign-ins, enrolments).
        users = list(User.objects.filter(username__startswith=PREFIX).values_list("pk", flat=True))
        if users:
            cursor.execute("DELETE FROM core_event WHERE actor_id = ANY(%s)", [users])
            User.objects.filter(pk__in=users).delete()
        if district is not None:
            district.delete()


@dataclass
class Seeded:
    elder_ids: list[int]
    operators: list[tuple[str, str]]  # (username, hex key of the authenticator)
    workers: list[str]


def seed(*, workers: int, elders: int, rng: random.Random) -> Seeded:
    district = District.objects.create(code=CODE, name="intake benchmark")
    provider = Provider.objects.create(
        district=district,
        name="intake benchmark provider",
        base_location=Point(*CENTRE, srid=4326),
        service_radius_m=20_000,
        status="active",
    )
    ProviderService.objects.bulk_create(
        ProviderService(provider=provider, service_code=code, price=20, unit="visit")
        for code in SERVICES
    )
    password = make_password(PASSWORD)
    worker_users = User.objects.bulk_create(
        User(username=f"{PREFIX}worker-{i}", role=Role.WORKER, password=password)
        for i in range(workers)
    )
    rows = Worker.objects.bulk_create(
        Worker(
            user=user,
            provider=provider,
            full_name="基准护理员",
            phone="+8613700000000",
            skills=SERVICES,
            shift_state=ShiftState.ON,
            # Nobody answers, so nobody fills up: every intake finds its workers.
            capacity=5,
            active_jobs=0,
        )
        for user in worker_users
    )
    expires = timezone.localdate() + timedelta(days=300)
    Certificate.objects.bulk_create(
        Certificate(worker=w, kind=kind, number="bench", expires_on=expires)
        for w in rows
        for kind in CERTIFICATES
    )
    WorkerPosition.objects.bulk_create(
        WorkerPosition(worker=w, point=_around(rng, 2000), recorded_at=timezone.now()) for w in rows
    )
    positions_sync(worker_ids=[w.pk for w in rows])
    made = Elder.objects.bulk_create(
        Elder(
            district=district,
            full_name=f"基准{i}",
            gender="female",
            phone="",
            address="基准小区",
            location=_around(rng, 2500),
        )
        for i in range(elders)
    )
    operators = []
    for i in range(OPERATORS):
        user = User.objects.create(
            username=f"{PREFIX}operator-{i}",
            role=Role.OPERATOR,
            district=district,
            password=password,
        )
        device = user_otp_enrol(user=user)
        operators.append((user.username, device.key))
    with connection.cursor() as cursor:
        for table in ("providers_workerposition", "elders_elder", "dispatch_servicerequest"):
            cursor.execute(f"ANALYZE {table}")  # noqa: S608 - fixed names
    return Seeded(
        elder_ids=[e.pk for e in made],
        operators=operators,
        workers=[u.username for u in worker_users],
    )


def _totp(hex_key: str) -> str:
    totp = TOTP(bytes.fromhex(hex_key))
    totp.time = time.time()
    return f"{totp.token():06d}"


class Http:
    """One keep-alive HTTP/1.1 connection, reopened when the server closes it."""

    def __init__(self, base: str):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn: http.client.HTTPConnection | None = None
        self.retry_after = 0.0  # the last answer's Retry-After, in seconds

    def request(self, method: str, path: str, body: Any = None, headers: dict | None = None):
        payload = json.dumps(body).encode() if body is not None else None
        head = {"Content-Type": "application/json", **(headers or {})}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=payload, headers=head)
                response = self.conn.getresponse()
                data = response.read()
                self.retry_after = float(response.getheader("Retry-After") or 0)
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, data
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def sign_in(base: str, username: str, *, otp_key: str | None = None) -> str:
    body = {"username": username, "password": PASSWORD}
    http_ = Http(base)
    for _ in range(5):
        if otp_key:
            body["otp"] = _totp(otp_key)
        status, data = http_.request("POST", "/api/v1/auth/token/", body)
        if status != 429:
            break
        # Sign-ins are limited per address: runs back to back wait for the window to move on.
        time.sleep(min(30.0, http_.retry_after or 5.0))
    if status != 200:
        raise CommandError(f"sign-in of {username} refused ({status}): {data[:300]!r}")
    return json.loads(data)["access"]


class OfferWatch:
    """The workers' phones: a WebSocket each, recording when each request's first offer
    arrives (time.monotonic, the same clock as the clients)."""

    def __init__(self, base: str, tokens: list[str]):
        self.base = base
        self.tokens = tokens
        self.first_offer: dict[int, float] = {}
        self.connected = threading.Event()
        self.failed: BaseException | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="offer-watch", daemon=True)
        self.stopping: asyncio.Event | None = None

    def start(self, timeout: float = 30) -> None:
        self.thread.start()
        if not self.connected.wait(timeout):
            raise CommandError(f"workers' sockets did not connect: {self.failed!r}")
        if self.failed:
            raise CommandError(f"workers' sockets failed: {self.failed!r}")

    def stop(self) -> None:
        if self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to the main thread by start()
            self.failed = exc
            self.connected.set()

    async def _main(self) -> None:
        import websockets

        self.stopping = asyncio.Event()
        ws_base = self.base.replace("http://", "ws://").replace("https://", "wss://")
        sockets = []
        for token in self.tokens:
            status, data = await asyncio.to_thread(
                Http(self.base).request,
                "POST",
                "/api/v1/ws-ticket/",
                None,
                {"Authorization": f"Bearer {token}"},
            )
            if status != 201:
                raise CommandError(f"no WebSocket ticket ({status}): {data[:200]!r}")
            ticket = json.loads(data)["ticket"]
            socket = await websockets.connect(f"{ws_base}/ws/?ticket={ticket}", max_size=2**20)
            hello = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if hello.get("type") != "hello":
                raise CommandError(f"unexpected first message {hello!r}")
            sockets.append(socket)
        readers = [asyncio.create_task(self._read(s)) for s in sockets]
        self.connected.set()
        await self.stopping.wait()
        for socket in sockets:
            await socket.close()
        for reader in readers:
            reader.cancel()

    async def _read(self, socket) -> None:
        async for raw in socket:
            now = time.monotonic()
            message = json.loads(raw)
            if message.get("type") == "offer.created":
                request_id = message["data"].get("request")
                if request_id is not None and request_id not in self.first_offer:
                    self.first_offer[request_id] = now


@dataclass
class Sample:
    sent: float
    latency: float
    status: int
    request_id: int | None


@dataclass
class Load:
    base: str
    tokens: list[str]
    elder_ids: list[int]
    until: float
    samples: list[Sample] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, index: int, clients: int) -> None:
        rng = random.Random(index)
        # This client's share of the operators, so no two clients use one at the same time.
        tokens = self.tokens[index::clients] or self.tokens
        http_ = Http(self.base)
        mine: list[Sample] = []
        n = 0
        while (sent := time.monotonic()) < self.until:
            body = {"elder": rng.choice(self.elder_ids), "service_type": rng.choice(SERVICES)}
            headers = {
                "Authorization": f"Bearer {tokens[n % len(tokens)]}",
                "Idempotency-Key": str(uuid.uuid4()),
            }
            n += 1
            try:
                status, data = http_.request("POST", "/api/v1/requests/", body, headers)
            except OSError as exc:
                self._error(type(exc).__name__)
                continue
            latency = time.monotonic() - sent
            request_id = json.loads(data)["id"] if status == 201 else None
            if status != 201:
                self._error(f"{status} {data[:120].decode(errors='replace')}")
            mine.append(Sample(sent, latency, status, request_id))
        http_.close()
        with self.lock:
            self.samples.extend(mine)

    def _error(self, what: str) -> None:
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile by the nearest-rank method (q in 0..100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class Command(BaseCommand):
    help = (
        "Drive POST /api/v1/requests/ over HTTP against the running platform and print "
        "requests/s, p50/p99 latency and intake-to-offer time on a worker's socket."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--clients", type=int, default=8)
        parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
        parser.add_argument("--warmup", type=float, default=3.0, help="seconds not measured")
        parser.add_argument("--workers", type=int, default=10, help="workers with a socket")
        parser.add_argument("--elders", type=int, default=500)
        parser.add_argument("--settle", type=float, default=15.0, help="wait for late offers")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--keep", action="store_true", help="keep the benchmark district")
        parser.add_argument("--json", action="store_true", help="one JSON line of figures too")

    def handle(self, *args, **o):
        benchmark_allowed("benchmark_intake", "a district of its own")
        base = o["url"].rstrip("/")
        self.stdout.write(f"seeding the benchmark district ({o['workers']} workers)")
        clear()
        seeded = seed(workers=o["workers"], elders=o["elders"], rng=random.Random(o["seed"]))
        try:
            figures = self._run(base, seeded, o)
            self._report(figures, o)
        finally:
            if not o["keep"]:
                self._clear_when_quiet(o["settle"] + 30)

    def _clear_when_quiet(self, timeout: float) -> None:
        """Once the workers have matched what the run left (a delete under a matching
        transaction deadlocks), delete the district; again if a late task still collides."""
        from dispatch.models import RequestState, ServiceRequest

        deadline = time.monotonic() + timeout
        waiting = ServiceRequest.objects.filter(
            district__code=CODE, state__in=[RequestState.NEW, RequestState.MATCHING]
        )
        while waiting.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        for attempt in range(5):
            try:
                clear()
                return
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(1)

    def _run(self, base: str, seeded: Seeded, o: dict) -> dict[str, Any]:
        with ThreadPoolExecutor(8) as pool:
            operator_tokens = list(
                pool.map(lambda op: sign_in(base, op[0], otp_key=op[1]), seeded.operators)
            )
            worker_tokens = list(pool.map(lambda name: sign_in(base, name), seeded.workers))
        watch = OfferWatch(base, worker_tokens)
        watch.start()
        try:
            start = time.monotonic()
            measured_from = start + o["warmup"]
            load = Load(base, operator_tokens, seeded.elder_ids, measured_from + o["duration"])
            threads = [
                threading.Thread(target=load.client, args=(i, o["clients"]), daemon=True)
                for i in range(o["clients"])
            ]
            load_before = os.getloadavg()[0]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            ended = time.monotonic()
            load_after = os.getloadavg()[0]
            measured = [s for s in load.samples if s.sent >= measured_from]
            made = {s.request_id: s.sent for s in measured if s.request_id is not None}
            settle_until = time.monotonic() + o["settle"]
            while time.monotonic() < settle_until and not all(r in watch.first_offer for r in made):
                time.sleep(0.1)
        finally:
            watch.stop()
        span = max(1e-9, min(ended, load.until) - measured_from)
        ok = [s for s in measured if s.status == 201]
        to_offer = [
            watch.first_offer[r] - sent for r, sent in made.items() if r in watch.first_offer
        ]
        return {
            "clients": o["clients"],
            "seconds": round(span, 1),
            "requests": len(measured),
            "created": len(ok),
            "rps": len(ok) / span,
            "p50_ms": percentile([s.latency for s in ok], 50) * 1000,
            "p90_ms": percentile([s.latency for s in ok], 90) * 1000,
            "p99_ms": percentile([s.latency for s in ok], 99) * 1000,
            "max_ms": max((s.latency for s in ok), default=math.nan) * 1000,
            "mean_ms": statistics.fmean(s.latency for s in ok) * 1000 if ok else math.nan,
            "errors": dict(load.errors),
            "offers_seen": len(to_offer),
            "offers_missing": len(made) - len(to_offer),
            "offer_p50_ms": percentile(to_offer, 50) * 1000,
            "offer_p99_ms": percentile(to_offer, 99) * 1000,
            "offer_max_ms": max(to_offer, default=math.nan) * 1000,
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": load_after,
        }

    def _report(self, f: dict[str, Any], o: dict) -> None:
        w = self.stdout.write
        w(
            f"POST /api/v1/requests/  clients={f['clients']}  measured {f['seconds']} s "
            f"(after {o['warmup']:g} s warm-up)"
        )
        w(f"  created      {f['created']} of {f['requests']}  ({f['rps']:.1f} requests/s)")
        w(
            f"  latency      p50 {f['p50_ms']:.0f} ms  p90 {f['p90_ms']:.0f} ms  "
            f"p99 {f['p99_ms']:.0f} ms  max {f['max_ms']:.0f} ms"
        )
        w(
            f"  to offer     p50 {f['offer_p50_ms']:.0f} ms  p99 {f['offer_p99_ms']:.0f} ms  "
            f"max {f['offer_max_ms']:.0f} ms  (seen {f['offers_seen']}, "
            f"missing {f['offers_missing']})"
        )
        if f["errors"]:
            w(f"  errors       {f['errors']}")
        w(
            f"  machine      {f['cpus']} CPUs, load average {f['load_before']:.2f} before, "
            f"{f['load_after']:.2f} after"
        )
        if o["json"]:
            w(json.dumps({k: (round(v, 1) if isinstance(v, float) else v) for k, v in f.items()}))
