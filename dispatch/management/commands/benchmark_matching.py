"""Matching at scale: the service's KNN query against a naive `ORDER BY ST_Distance` with the
same filters and indexes, at several worker counts, in one run, with both query plans.

Seeds a benchmark district (code 229997000000) of N workers over a 30 x 30 km city, each within
its provider's patch (the provider's service radius around its base): 45 % on
shift, 3-6 skills each, most with the certificates their skills need (5 % expired), capacity
1-2 with some already busy, 250 providers (a tenth suspended) serving 6-10 km around their
base, every position fresh. Then times matching for `--elders` random homes.
"""

import random
import statistics
import time
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from backend.accounts.models import District, Role, User
from dispatch.catalogue import CATALOGUE
from providers.models import (
    Certificate,
    Provider,
    ProviderService,
    ShiftState,
    Worker,
    WorkerPosition,
)
from providers.selectors import providers_serving, workers_nearest
from providers.services import positions_sync

CODE = "229997000000"
CENTRE = (125.32, 43.86)
HALF_DEG = (0.187, 0.135)  # about 15 km each way at this latitude
SKILLS = [row[0] for row in CATALOGUE]
CERTS = {row[0]: row[6] for row in CATALOGUE}
RADIUS_M = 5000


def _base(provider: Provider) -> Point:
    if provider.base_location is None:
        raise ValueError(f"provider {provider.pk} has no base")
    return provider.base_location


def _near(base: Point, radius_m: float, rng: random.Random) -> Point:
    """Somewhere in the provider's own patch: workers work near where they are based."""
    import math

    r = radius_m * math.sqrt(rng.random()) / 111_320
    a = rng.uniform(0, 2 * math.pi)
    return Point(
        base.x + r * math.cos(a) / math.cos(math.radians(base.y)),
        base.y + r * math.sin(a),
        srid=4326,
    )


def _point(rng: random.Random) -> Point:

    return Point(
        CENTRE[0] + rng.uniform(-HALF_DEG[0], HALF_DEG[0]),
        CENTRE[1] + rng.uniform(-HALF_DEG[1], HALF_DEG[1]),
        srid=4326,
    )


@transaction.atomic
def clear() -> None:
    district = District.objects.filter(code=CODE).first()
    if district is None:
        User.objects.filter(username__startswith=f"bench-{CODE}-").delete()
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            DELETE FROM providers_workerposition WHERE worker_id IN (
              SELECT w.id FROM providers_worker w JOIN providers_provider p
              ON p.id = w.provider_id WHERE p.district_id = %s)""",
            [district.pk],
        )
        cursor.execute(
            """
            DELETE FROM providers_certificate WHERE worker_id IN (
              SELECT w.id FROM providers_worker w JOIN providers_provider p
              ON p.id = w.provider_id WHERE p.district_id = %s)""",
            [district.pk],
        )
    Worker.objects.filter(provider__district=district).delete()
    User.objects.filter(username__startswith=f"bench-{CODE}-").delete()

    ProviderService.objects.filter(provider__district=district).delete()
    Provider.objects.filter(district=district).delete()
    district.delete()


def seed(n: int, rng: random.Random, say) -> None:
    district = District.objects.create(code=CODE, name="matching benchmark")
    providers = Provider.objects.bulk_create(
        Provider(
            district=district,
            name=f"bench provider {i}",
            base_location=_point(rng),
            service_radius_m=rng.choice([6000, 8000, 10000]),
            status="suspended" if i % 10 == 9 else "active",
        )
        for i in range(250)
    )
    ProviderService.objects.bulk_create(
        ProviderService(provider=p, service_code=code, price=20, unit="visit")
        for p in providers
        for code in SKILLS
        if rng.random() < 0.8
    )
    password = make_password("benchmark-only")
    today = timezone.localdate()
    batch = 10_000
    for start in range(0, n, batch):
        size = min(batch, n - start)
        users = User.objects.bulk_create(
            User(username=f"bench-{CODE}-{start + i}", role=Role.WORKER, password=password)
            for i in range(size)
        )
        workers = []
        for user in users:
            capacity = rng.choice([1, 1, 2])
            workers.append(
                Worker(
                    user=user,
                    provider=rng.choice(providers),
                    full_name="bench",
                    phone="+8613700000000",
                    skills=rng.sample(SKILLS, rng.randint(3, 6)),
                    shift_state=ShiftState.ON if rng.random() < 0.45 else ShiftState.OFF,
                    capacity=capacity,
                    active_jobs=rng.choice([0, 0, 0, capacity]),
                )
            )
        Worker.objects.bulk_create(workers)
        certs = []
        for w in workers:
            for kind in {k for s in w.skills for k in CERTS[s]}:
                if rng.random() < 0.95:
                    expired = rng.random() < 0.05
                    certs.append(
                        Certificate(
                            worker=w,
                            kind=kind,
                            number="b",
                            expires_on=(
                                today - timedelta(days=3)
                                if expired
                                else today + timedelta(days=300)
                            ),
                        )
                    )
        Certificate.objects.bulk_create(certs, batch_size=5000)
        now = timezone.now()
        WorkerPosition.objects.bulk_create(
            WorkerPosition(
                worker=w,
                point=_near(_base(w.provider), w.provider.service_radius_m, rng),
                recorded_at=now - timedelta(seconds=rng.randrange(600)),
            )
            for w in workers
        )
        say(f"  seeded {start + size} workers")
    positions_sync()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def naive_match(home: Point, skill: str, certificates, provider_ids) -> list:
    """Same filters and indexes, but sorts every row within the radius by ST_Distance."""
    fresh_after = timezone.now() - timedelta(seconds=900)
    qs = WorkerPosition.objects.filter(
        on_shift=True,
        has_capacity=True,
        point__dwithin=(home, D(m=RADIUS_M)),
        recorded_at__gte=fresh_after,
        skills__contains=[skill],
        provider_id__in=list(provider_ids),
    )

    for kind in set(certificates):
        qs = qs.filter(
            Exists(
                Certificate.objects.filter(
                    worker_id=OuterRef("worker_id"), kind=kind, expires_on__gte=timezone.localdate()
                )
            )
        )
    return list(
        qs.annotate(d=Distance("point", home)).order_by("d").values_list("worker_id", "d")[:3]
    )


def service_match(home: Point, skill: str, certificates, provider_ids) -> list:
    return workers_nearest(
        point=home,
        skill=skill,
        radius_m=RADIUS_M,
        provider_ids=provider_ids,
        required_certificates=certificates,
        limit=3,
    )


class Command(BaseCommand):
    help = "Time matching (KNN) against a naive ST_Distance sort at several worker counts."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, nargs="+", default=[10_000, 100_000])
        parser.add_argument("--elders", type=int, default=1000)
        parser.add_argument("--keep", action="store_true")

    def handle(self, *args, **options):
        rng = random.Random(2026)
        for n in options["workers"]:
            clear()
            self.stdout.write(f"== {n} workers")
            with transaction.atomic():
                seed(n, rng, self.stdout.write)
            homes = [(_point(rng), rng.choice(SKILLS)) for _ in range(options["elders"])]
            cases = [
                (
                    h,
                    s,
                    CERTS[s],
                    list(providers_serving(point=h, service_code=s).values_list("pk", flat=True)),
                )
                for h, s in homes
            ]
            p99: dict[str, float] = {}
            for name, fn in (
                ("service (KNN <->)", service_match),
                ("naive (ST_Distance sort)", naive_match),
            ):
                fn(*cases[0])  # warm
                times, found = [], 0
                for case in cases:
                    t0 = time.perf_counter()
                    found += bool(fn(*case))
                    times.append((time.perf_counter() - t0) * 1000)
                q = statistics.quantiles(times, n=100)
                self.stdout.write(
                    f"  {name:<26} p50 {q[49]:7.2f} ms  p99 {q[98]:7.2f} ms  "
                    f"max {max(times):7.2f} ms  ({found}/{len(cases)} found)"
                )
                p99[fn.__name__] = q[98]
            self.stdout.write(
                f"  naive p99 / service p99 = {p99['naive_match'] / p99['service_match']:.1f}x"
            )
            self._plans(cases[0])
        if not options["keep"]:
            clear()

    def _plans(self, case) -> None:
        home, skill, certs, provider_ids = case
        for name, fn in (("service", service_match), ("naive", naive_match)):
            captured: list[tuple] = []

            def capture(execute, sql, params, many, context, captured=captured):
                captured.append((sql, params))
                return execute(sql, params, many, context)

            with connection.execute_wrapper(capture):
                fn(home, skill, certs, provider_ids)
            sql, params = next(c for c in captured if "ORDER BY" in c[0])
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
                plan = "\n".join("    " + row[0] for row in cursor.fetchall())
            self.stdout.write(f"  plan, {name}:\n{plan}")
