"""The district's oversight figures at scale: the response figures (by day over a quarter, by
month, for one provider) and the providers' monthly quality, timed on a synthetic district.

Seeds a benchmark district (code 229994000000): `--providers` providers with `--workers`
workers between them, `--elders` elders, and `--requests` work orders spread over the last
`--days` days, of which about 85 % were accepted, 80 % checked in and out (a twentieth of those
outside the geofence), half rated and one in fifty complained about. Rows are written directly
(bulk inserts): the figures only read them. Then runs each question `--repeat` times and prints
the median and the slowest time, the number of queries, and the rows behind it. Everything
seeded is deleted at the end unless --keep.
"""

import random
import statistics
import time
from datetime import timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import Point
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.models import District, Role, User
from backend.core.days import local_today
from backend.core.management.benchmarks import benchmark_allowed
from dispatch.models import Complaint, Feedback, ServiceRequest, ServiceType, Visit
from dispatch.quality import provider_quality
from dispatch.response_figures import Scope, response_figures
from elders.models import Elder
from providers.models import Provider, Worker

CODE = "229994000000"
PREFIX = f"bench-{CODE}-"
CENTRE = (125.30, 43.88)
BATCH = 5000


def clear() -> None:
    """Delete the benchmark district and everything in it, in dependency order."""
    district = District.objects.filter(code=CODE).first()
    with transaction.atomic(), connection.cursor() as cursor:
        if district is not None:
            requests = "SELECT id FROM dispatch_servicerequest WHERE district_id = %s"
            for sql in (
                "DELETE FROM core_event WHERE district_id = %s",
                f"DELETE FROM dispatch_complaint WHERE request_id IN ({requests})",  # noqa: S608
                f"DELETE FROM dispatch_feedback WHERE request_id IN ({requests})",  # noqa: S608
                f"DELETE FROM dispatch_visit WHERE request_id IN ({requests})",  # noqa: S608
                f"DELETE FROM dispatch_operatoralert WHERE request_id IN ({requests})",  # noqa: S608
                "DELETE FROM dispatch_servicerequest WHERE district_id = %s",
            ):
                cursor.execute(sql, [district.pk])
            Worker.objects.filter(provider__district=district).delete()
            Provider.objects.filter(district=district).delete()
            Elder.objects.filter(district=district).delete()
        users = list(User.objects.filter(username__startswith=PREFIX).values_list("pk", flat=True))
        if users:
            cursor.execute("DELETE FROM core_event WHERE actor_id = ANY(%s)", [users])
            User.objects.filter(pk__in=users).delete()
        if district is not None:
            district.delete()


def seed(*, providers: int, workers: int, elders: int, requests: int, days: int, seed: int):
    rng = random.Random(seed)
    now = timezone.now()
    district = District.objects.create(code=CODE, name="figures benchmark")
    here = Point(*CENTRE, srid=4326)
    made_providers = Provider.objects.bulk_create(
        Provider(district=district, name=f"基准服务商{i}", base_location=here)
        for i in range(providers)
    )
    password = make_password(None)
    users = User.objects.bulk_create(
        User(username=f"{PREFIX}worker-{i}", role=Role.WORKER, password=password)
        for i in range(workers)
    )
    rater = User.objects.create(username=f"{PREFIX}family", role=Role.FAMILY, password=password)
    made_workers = Worker.objects.bulk_create(
        Worker(
            user=u, provider=made_providers[i % providers], full_name="基准", phone="+8613700000000"
        )
        for i, u in enumerate(users)
    )
    made_elders = Elder.objects.bulk_create(
        (
            Elder(
                district=district,
                full_name=f"基准{i}",
                gender="female",
                address="基准小区",
                location=here,
            )
            for i in range(elders)
        ),
        batch_size=BATCH,
    )
    types = list(ServiceType.objects.filter(code__in=["meal", "cleaning", "bathing", "escort"]))
    span = days * 86400
    for start in range(0, requests, BATCH):
        batch, plans = [], []
        for _ in range(min(BATCH, requests - start)):
            at = now - timedelta(seconds=rng.uniform(3600, span))
            worker = rng.choice(made_workers)
            accepted = rng.random() < 0.85
            arrived = accepted and rng.random() < 0.94
            batch.append(
                ServiceRequest(
                    district=district,
                    elder=rng.choice(made_elders),
                    service_type=rng.choice(types),
                    channel="operator",
                    priority="routine",
                    window_start=at,
                    window_end=at + timedelta(hours=2),
                    match_at=at,
                    accept_due_at=at + timedelta(minutes=10),
                    arrive_due_at=at + timedelta(minutes=45),
                    accepted_at=at + timedelta(seconds=rng.expovariate(1 / 300))
                    if accepted
                    else None,
                    arrived_at=at + timedelta(seconds=rng.expovariate(1 / 1800))
                    if arrived
                    else None,
                    assigned_worker=worker if accepted else None,
                    assigned_provider_id=worker.provider_id if accepted else None,
                    state="closed" if arrived else "failed",
                )
            )
            plans.append((worker, batch[-1].arrived_at))
        made = ServiceRequest.objects.bulk_create(batch)
        # created_at is set on insert (auto_now_add): moved onto the made times in one statement.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE dispatch_servicerequest SET created_at = window_start WHERE id = ANY(%s)",
                [[sr.pk for sr in made]],
            )
        visits, ratings, complaints = [], [], []
        for sr, (worker, arrived_at) in zip(made, plans, strict=True):
            if arrived_at is None:
                continue
            outside = rng.random() < 0.05
            visits.append(
                Visit(
                    request=sr,
                    worker=worker,
                    elder=sr.elder,
                    service_type=sr.service_type,
                    state="completed",
                    checked_in_at=arrived_at,
                    check_in_point=here,
                    check_in_distance_m=10,
                    checked_out_at=arrived_at + timedelta(hours=1),
                    exception_reason="gps_drift" if outside else "",
                    exception_state=rng.choice(["approved", "rejected", "pending"])
                    if outside
                    else "",
                )
            )
            if rng.random() < 0.5:
                ratings.append(
                    Feedback(request=sr, rating=rng.choice([3, 4, 4, 5, 5]), given_by=rater)
                )
            if rng.random() < 0.02:
                complaints.append(
                    Complaint(
                        request=sr, text="基准", state=rng.choice(["open", "upheld", "dismissed"])
                    )
                )
        Visit.objects.bulk_create(visits)
        Feedback.objects.bulk_create(ratings)
        Complaint.objects.bulk_create(complaints)
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE dispatch_feedback f SET at = r.arrived_at + interval '3 hours'
               FROM dispatch_servicerequest r WHERE r.id = f.request_id AND r.district_id = %s""",
            [district.pk],
        )
        cursor.execute(
            """UPDATE dispatch_complaint c SET opened_at = r.arrived_at + interval '5 hours',
               decided_at = CASE WHEN c.state = 'open' THEN NULL
                            ELSE r.arrived_at + interval '2 days' END
               FROM dispatch_servicerequest r WHERE r.id = c.request_id AND r.district_id = %s""",
            [district.pk],
        )
        for table in (
            "dispatch_servicerequest",
            "dispatch_visit",
            "dispatch_feedback",
            "dispatch_complaint",
        ):
            cursor.execute(f"ANALYZE {table}")  # noqa: S608 - fixed names
    return district, made_providers[0]


def timed(repeat: int, run) -> tuple[float, float, int]:
    """(median, slowest) seconds of `repeat` runs, and the queries of one."""
    times = []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        queries = len(captured)
    return statistics.median(times), max(times), queries


class Command(BaseCommand):
    help = "Time the district's response figures and provider quality on a synthetic district."

    def add_arguments(self, parser):
        parser.add_argument("--providers", type=int, default=50)
        parser.add_argument("--workers", type=int, default=2000)
        parser.add_argument("--elders", type=int, default=20_000)
        parser.add_argument("--requests", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--repeat", type=int, default=3)
        parser.add_argument("--seed", type=int, default=16)
        parser.add_argument("--keep", action="store_true", help="Keep the seeded district")

    def handle(self, *args: Any, **o: Any) -> None:
        benchmark_allowed("benchmark_district_figures", "a synthetic district")
        clear()
        started = time.perf_counter()
        district, provider = seed(
            providers=o["providers"],
            workers=o["workers"],
            elders=o["elders"],
            requests=o["requests"],
            days=o["days"],
            seed=o["seed"],
        )
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"seeded {o['requests']} work orders over {o['days']} days, {o['workers']} workers of "
            f"{o['providers']} providers, {o['elders']} elders in {seconds:.1f} s"
        )
        try:
            self._time(district, provider, o)
        finally:
            if not o["keep"]:
                clear()

    def _time(self, district: District, provider: Provider, o: dict[str, Any]) -> None:
        now = timezone.now()
        today = local_today()
        quarter = today - timedelta(days=min(o["days"], 92) - 1)
        whole = Scope(district_id=district.pk)
        questions = {
            "responses by day, a quarter": lambda: response_figures(
                scope=whole, first=quarter, last=today, granularity="day", now=now
            ),
            "responses by month": lambda: response_figures(
                scope=whole, first=quarter, last=today, granularity="month", now=now
            ),
            "responses, one provider, by day": lambda: response_figures(
                scope=Scope(district_id=district.pk, provider_id=provider.pk),
                first=quarter,
                last=today,
                granularity="day",
                now=now,
            ),
            "responses, one service type, by month": lambda: response_figures(
                scope=Scope(district_id=district.pk, service_type="meal"),
                first=quarter,
                last=today,
                granularity="month",
                now=now,
            ),
            "provider quality, last month": lambda: provider_quality(
                district_id=district.pk, month=today.replace(day=1) - timedelta(days=1)
            ),
        }
        for name, run in questions.items():
            median, slowest, queries = timed(o["repeat"], run)
            self.stdout.write(
                f"{name:40s} median {median * 1000:8.1f} ms, slowest {slowest * 1000:8.1f} ms, "
                f"{queries} queries"
            )
