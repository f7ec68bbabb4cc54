"""How many position updates per second the platform takes, with matching still answering.

Seeds a benchmark district of N on-shift workers, then for `--seconds`:
- writers: `--sockets` WebSocket clients against a running server (`--url`), each sending
  `location` messages back to back and counting the acks; or, without `--url`, `--threads`
  threads calling the service directly;
- meanwhile one thread runs the matching query at random homes and records its latency.
Prints updates answered and stored per second, and matching p50/p99.
"""

import asyncio
import json
import random
import statistics
import threading
import time

from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import Point
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils import timezone

from backend.accounts.models import District, Role, User
from backend.core.tickets import ws_ticket_issue
from providers.models import (
    Certificate,
    Provider,
    ProviderService,
    ShiftState,
    Worker,
    WorkerPosition,
)
from providers.selectors import providers_serving, workers_nearest
from providers.services import positions_sync, worker_position_record

BOX = (125.24, 43.80, 125.36, 43.90)
CODE = "229998000000"


def _point(rng: random.Random) -> Point:
    return Point(rng.uniform(BOX[0], BOX[2]), rng.uniform(BOX[1], BOX[3]), srid=4326)


def _seed(n: int) -> list[Worker]:
    if District.objects.filter(code=CODE).exists():
        _clear()
    rng = random.Random(5)
    district = District.objects.create(code=CODE, name="location benchmark")
    providers = Provider.objects.bulk_create(
        Provider(
            district=district, name=f"bench {i}", base_location=_point(rng), service_radius_m=8000
        )
        for i in range(20)
    )
    ProviderService.objects.bulk_create(
        ProviderService(provider=p, service_code="meal", price=15, unit="meal") for p in providers
    )
    password = make_password("bench-only")
    users = User.objects.bulk_create(
        User(username=f"bench-w{i}", role=Role.WORKER, password=password) for i in range(n)
    )
    workers = Worker.objects.bulk_create(
        Worker(
            user=u,
            provider=providers[i % 20],
            full_name=f"bench {i}",
            phone="+8613700000000",
            skills=["meal"],
            shift_state=ShiftState.ON,
        )
        for i, u in enumerate(users)
    )
    expires = timezone.localdate().replace(year=timezone.localdate().year + 1)
    Certificate.objects.bulk_create(
        Certificate(worker=w, kind="health", number="b", expires_on=expires) for w in workers
    )
    WorkerPosition.objects.bulk_create(
        WorkerPosition(worker=w, point=_point(rng), recorded_at=timezone.now()) for w in workers
    )
    positions_sync()
    return workers


def _clear() -> None:
    district = District.objects.filter(code=CODE).first()
    if district is None:
        return
    workers = Worker.objects.filter(provider__district=district)
    user_ids = list(workers.values_list("user_id", flat=True))
    Certificate.objects.filter(worker__in=workers).delete()
    workers.delete()
    User.objects.filter(pk__in=user_ids).delete()
    ProviderService.objects.filter(provider__district=district).delete()
    Provider.objects.filter(district=district).delete()
    district.delete()


class Command(BaseCommand):
    help = "Measure position updates per second with matching running alongside."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=2000)
        parser.add_argument("--seconds", type=float, default=20)
        parser.add_argument("--url", help="ws://127.0.0.1:8000 to go through a running server")
        parser.add_argument("--sockets", type=int, default=100)
        parser.add_argument("--threads", type=int, default=2)
        parser.add_argument("--keep", action="store_true")

    def handle(self, *args, **options):
        workers = _seed(options["workers"])
        stop = threading.Event()
        latencies: list[float] = []
        matcher = threading.Thread(target=self._match_loop, args=(stop, latencies))
        matcher.start()
        started = time.perf_counter()
        try:
            if options["url"]:
                answered, stored = asyncio.run(
                    self._sockets(options["url"], workers, options["sockets"], options["seconds"])
                )
            else:
                answered, stored = self._threads(workers, options["threads"], options["seconds"])
        finally:
            stop.set()
            matcher.join()
        elapsed = time.perf_counter() - started
        via = (
            f"{options['sockets']} WebSockets via {options['url']}"
            if options["url"]
            else f"{options['threads']} threads calling the service"
        )
        self.stdout.write(f"{len(workers)} workers, {elapsed:.1f} s, {via}")
        self.stdout.write(f"  updates answered: {answered / elapsed:8.0f}/s ({answered} in all)")
        self.stdout.write(f"  positions stored: {stored / elapsed:8.0f}/s ({stored} in all)")
        if latencies:
            q = statistics.quantiles(latencies, n=100)
            self.stdout.write(
                f"  matching alongside: {len(latencies)} queries, p50 {q[49]:.1f} ms, "
                f"p99 {q[98]:.1f} ms, max {max(latencies):.1f} ms"
            )
        if not options["keep"]:
            _clear()

    def _match_loop(self, stop: threading.Event, latencies: list[float]) -> None:
        rng = random.Random(9)
        try:
            while not stop.is_set():
                home = _point(rng)
                t0 = time.perf_counter()
                serving = providers_serving(point=home, service_code="meal")
                workers_nearest(
                    point=home,
                    skill="meal",
                    radius_m=5000,
                    provider_ids=serving.values_list("pk", flat=True),
                    required_certificates=["health"],
                    limit=3,
                )
                latencies.append((time.perf_counter() - t0) * 1000)
                time.sleep(0.05)
        finally:
            connection.close()

    def _threads(self, workers: list[Worker], threads: int, seconds: float) -> tuple[int, int]:
        counts = [[0, 0] for _ in range(threads)]
        deadline = time.monotonic() + seconds

        def write(i: int) -> None:
            rng = random.Random(i)
            mine = workers[i::threads]
            try:
                while time.monotonic() < deadline:
                    worker = rng.choice(mine)
                    counts[i][0] += 1
                    counts[i][1] += worker_position_record(worker_id=worker.pk, point=_point(rng))
            finally:
                connection.close()

        pool = [threading.Thread(target=write, args=(i,)) for i in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    async def _sockets(
        self, url: str, workers: list[Worker], sockets: int, seconds: float
    ) -> tuple[int, int]:
        import websockets
        from asgiref.sync import sync_to_async
        from websockets.typing import Origin

        chosen = workers[:sockets]
        tickets = await sync_to_async(
            lambda: [ws_ticket_issue(user=w.user).token for w in chosen]
        )()
        totals = [0, 0]
        deadline = time.monotonic() + seconds
        origin = url.replace("ws://", "http://").replace("wss://", "https://")

        async def one(token: str, seed: int) -> None:
            rng = random.Random(seed)
            async with websockets.connect(f"{url}/ws/?ticket={token}", origin=Origin(origin)) as ws:
                await ws.recv()  # hello
                while time.monotonic() < deadline:
                    p = _point(rng)
                    await ws.send(
                        json.dumps(
                            {
                                "type": "location",
                                "data": {"location": {"type": "Point", "coordinates": [p.x, p.y]}},
                            }
                        )
                    )
                    reply = json.loads(await ws.recv())
                    totals[0] += 1
                    totals[1] += bool(reply.get("data", {}).get("stored"))

        await asyncio.gather(*(one(t, i) for i, t in enumerate(tickets)))
        return totals[0], totals[1]
