"""A month's settlement at scale: prints how long issuing every provider's statement takes.

Seeds a benchmark district (code 229995000000) of `--elders` elders (half of them with a
subsidy in yuan, a fifth with insurance hours, a tenth with an allowance), `--providers`
providers sharing `--workers` workers, and `--visits` verified visits in the month (a twentieth
held back with an open exception), priced per visit or per hour. Then issues every provider's
statement for the month in one transaction, timed, and rolls it back (an issued statement
cannot be deleted: the run leaves none). `--keep` leaves the seeded district for a rerun;
`--clear` only removes it.
"""

import random
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.gis.geos import Point
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from backend.accounts.models import District, Role, User
from backend.core.days import local_zone
from dispatch.models import ServiceRequest, ServiceType, Visit
from elders.models import Elder
from providers.models import Provider, Worker
from settlement.models import Entitlement, Statement
from settlement.services import statement_issue

CODE = "229995000000"
CENTRE = (125.32, 43.86)
MONTH = date(2025, 3, 1)
BATCH = 10_000


class _RolledBack(Exception):
    pass


def _clear() -> None:
    district = District.objects.filter(code=CODE).first()
    if district is None:
        return
    with transaction.atomic():
        Entitlement.objects.filter(elder__district=district).delete()
        Visit.objects.filter(elder__district=district).delete()
        ServiceRequest.objects.filter(district=district).delete()
        workers = Worker.objects.filter(provider__district=district)
        users = list(workers.values_list("user_id", flat=True))
        workers.delete()
        User.objects.filter(pk__in=users).delete()
        User.objects.filter(district=district).delete()
        Provider.objects.filter(district=district).delete()
        Elder.objects.filter(district=district).delete()
        district.delete()


def _seed(opts: dict, rng: random.Random, say) -> None:
    """What is missing of the district: elders and entitlements, providers and workers, visits
    (a run stopped while seeding goes on from where it was)."""
    district, made = District.objects.get_or_create(
        code=CODE, defaults={"name": "settlement benchmark"}
    )
    if made:
        User.objects.create(
            username="bench-settle-admin", role=Role.DISTRICT_ADMIN, district=district
        )
    if not Entitlement.objects.filter(elder__district=district).exists():
        _seed_elders(district, opts, rng, say)
    if not Provider.objects.filter(district=district).exists():
        _seed_staff(district, opts, say)
    _seed_visits(district, opts, rng, say)


def _seed_elders(district: District, opts: dict, rng: random.Random, say) -> None:
    home = Point(*CENTRE, srid=4326)
    have = Elder.objects.filter(district=district).count()
    for start in range(have, opts["elders"], BATCH):
        Elder.objects.bulk_create(
            Elder(
                district=district,
                full_name="bench",
                gender="female",
                address="bench",
                location=home,
                categories=["low_income", "advanced_age"],
                care_level=3,
            )
            for _ in range(min(BATCH, opts["elders"] - start))
        )
    elders = list(Elder.objects.filter(district=district).values_list("pk", flat=True))
    admin = User.objects.get(username="bench-settle-admin")
    plans = [
        ("district_subsidy", "amount", Decimal("120.00"), 0.5),
        ("ltc_insurance", "hours", Decimal("6"), 0.2),
        ("age_allowance", "amount", Decimal("50.00"), 0.1),
    ]
    Entitlement.objects.bulk_create(
        Entitlement(
            elder_id=pk,
            payer=payer,
            unit=unit,
            monthly=monthly,
            valid_from=date(2025, 1, 1),
            set_by=admin,
        )
        for payer, unit, monthly, share in plans
        for pk in elders
        if rng.random() < share
    )
    say(f"  seeded {len(elders)} elders and their entitlements")


def _seed_staff(district: District, opts: dict, say) -> None:
    home = Point(*CENTRE, srid=4326)
    providers = Provider.objects.bulk_create(
        Provider(district=district, name=f"bench provider {i}", base_location=home)
        for i in range(opts["providers"])
    )
    users = User.objects.bulk_create(
        User(username=f"bench-settle-w{i}", role=Role.WORKER, password="!")
        for i in range(opts["workers"])
    )
    workers = Worker.objects.bulk_create(
        Worker(
            user=u,
            provider=providers[i % len(providers)],
            full_name="bench",
            phone="+8613700000000",
        )
        for i, u in enumerate(users)
    )
    say(f"  seeded {len(providers)} providers and {len(workers)} workers")


def _seed_visits(district: District, opts: dict, rng: random.Random, say) -> None:
    home = Point(*CENTRE, srid=4326)
    elders = list(Elder.objects.filter(district=district).values_list("pk", flat=True))
    workers = list(Worker.objects.filter(provider__district=district))
    service = ServiceType.objects.get(code="cleaning")
    zone = local_zone()
    month_s = 28 * 24 * 3600
    for start in range(0, opts["visits"], BATCH):
        rows = []
        for n in range(start, min(start + BATCH, opts["visits"])):
            at = datetime(MONTH.year, MONTH.month, 1, 8, tzinfo=zone) + timedelta(
                seconds=rng.randrange(month_s)
            )
            rows.append((n, rng.choice(elders), rng.choice(workers), at))
        requests = ServiceRequest.objects.bulk_create(
            ServiceRequest(
                district=district,
                elder_id=elder,
                service_type=service,
                channel="operator",
                priority="routine",
                window_start=at,
                window_end=at + timedelta(hours=1),
                match_at=at,
                accept_due_at=at,
                arrive_due_at=at,
                state="closed",
                assigned_worker=worker,
                reference=f"bs-{n}",
            )
            for n, elder, worker, at in rows
        )
        hourly = rng.random() < 0.5
        Visit.objects.bulk_create(
            Visit(
                request=sr,
                worker=worker,
                elder_id=elder,
                service_type=service,
                checked_in_at=at,
                check_in_point=home,
                check_in_distance_m=5,
                checked_out_at=at + timedelta(minutes=rng.randrange(20, 150)),
                state="completed",
                price=Decimal("42.50") if hourly else Decimal("30.00"),
                price_unit="hour" if hourly else "visit",
                exception_state="pending" if n % 20 == 0 else "",
                exception_reason="gps_drift" if n % 20 == 0 else "",
            )
            for sr, (n, elder, worker, at) in zip(requests, rows, strict=True)
        )
        say(f"  seeded {start + len(rows)} visits")
    with connection.cursor() as cursor:
        for table in ("elders_elder", "dispatch_visit", "settlement_entitlement"):
            cursor.execute(f"ANALYZE {table}")


class Command(BaseCommand):
    help = "Time a month's settlement (every provider's statement) on a synthetic district."

    def add_arguments(self, parser):
        parser.add_argument("--elders", type=int, default=100_000)
        parser.add_argument("--workers", type=int, default=5_000)
        parser.add_argument("--providers", type=int, default=50)
        parser.add_argument("--visits", type=int, default=200_000)
        parser.add_argument("--seed", type=int, default=16)
        parser.add_argument("--keep", action="store_true", help="Leave the district for a rerun")
        parser.add_argument("--clear", action="store_true", help="Only remove the district")

    def handle(self, *args, **opts):
        say = self.stdout.write
        if opts["clear"]:
            _clear()
            say("cleared")
            return
        district = District.objects.filter(code=CODE).first()
        if district is None or not Visit.objects.filter(elder__district=district).exists():
            started = time.perf_counter()
            _seed(opts, random.Random(opts["seed"]), say)
            say(f"seed: {time.perf_counter() - started:.1f} s")
            district = District.objects.get(code=CODE)
        admin = User.objects.get(username="bench-settle-admin")
        providers = list(Provider.objects.filter(district=district).order_by("pk"))
        visits = Visit.objects.filter(elder__district=district).count()
        say(
            f"district: {Elder.objects.filter(district=district).count()} elders, "
            f"{Worker.objects.filter(provider__district=district).count()} workers, "
            f"{len(providers)} providers, {visits} visits in {MONTH:%Y-%m}"
        )
        started = time.perf_counter()
        try:
            with transaction.atomic():
                for provider in providers:
                    statement_issue(actor=admin, provider=provider, month=MONTH)
                issued = Statement.objects.filter(district=district)
                lines = sum(s.visits for s in issued)
                held = sum(s.held for s in issued)
                total = sum(s.total for s in issued)
                elapsed = time.perf_counter() - started
                raise _RolledBack
        except _RolledBack:
            pass
        say(
            f"month's settlement: {elapsed:.1f} s for {len(providers)} statements, "
            f"{lines} lines, {held} held, total {total} yuan (rolled back; the issue asks < 60 s)"
        )
        if not opts["keep"]:
            _clear()
