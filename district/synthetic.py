"""A synthetic district for `manage.py benchmark_district`: one city, seeded once, that the
coverage, the response figures, provider quality and a month's settlement are all timed on.

The district (code 229996000000) is a 30 x 30 km city around Changchun's centre:
- `elders` homes spread over it in 96 division codes (1 % moved away or deceased), each recorded
  as 低保 and 高龄 at care level 3, so that every payer may hold an entitlement: half have the
  district's subsidy in yuan, a fifth insurance hours, a tenth the advanced-age allowance;
- `providers` based in it (a tenth suspended), each offering 60-90 % of the service types at a
  price per visit or per hour: half with a hand-drawn service area (a ragged ring of 200
  vertices, 1-2.5 km across), half serving a radius of 2-4 km;
- `workers` shared among the providers, each with a user;
- `orders` work orders in one local month (the last one over, so that it can be settled), asked
  for between 07:00 and 19:00: 85 % accepted, 97 % of those checked in and out by a worker of
  the accepting provider at the price of its list (a twentieth outside the geofence, pending,
  approved or rejected), the rest a non-arrival with its alert (a third with a no-show credit
  event); half the visits rated, one in a hundred complained about (open, upheld or
  dismissed), a tenth of the five-star ratings praised.

Rows go in with COPY (`_copy`), ids drawn from each table's own sequence first so that rows can
name each other: at this size Django's `bulk_create` spends minutes building SQL. Everything is
drawn from one `random.Random(seed)`: the same seed seeds the same district (bar the month).
"""

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import connection, models, transaction
from django.utils import timezone

from backend.accounts.models import District, Role, User
from backend.core.days import local_today, local_zone
from dispatch.models import (
    AlertKind,
    Complaint,
    ComplaintState,
    ExceptionState,
    Feedback,
    OperatorAlert,
    RequestState,
    ServiceRequest,
    ServiceType,
    Visit,
    VisitState,
)
from elders.models import Elder, ElderStatus
from providers.models import (
    CreditEvent,
    CreditEventKind,
    PriceUnit,
    Provider,
    ProviderService,
    Worker,
)
from settlement.models import Entitlement, EntitlementUnit
from settlement.payers import Payer

CODE = "229996000000"
CENTRE = (125.32, 43.86)
HALF_DEG = (0.187, 0.135)  # about 15 km each way at this latitude
DIVISIONS = [f"2299960{n:02d}{m:03d}" for n in range(1, 13) for m in range(1, 9)]
USERNAME = f"bench-{CODE}-"
BATCH = 20_000
# Who holds which entitlement: (payer, unit, monthly, share of the elders).
ENTITLEMENT_PLANS = [
    (Payer.DISTRICT_SUBSIDY, EntitlementUnit.AMOUNT, Decimal("120.00"), 0.5),
    (Payer.LTC_INSURANCE, EntitlementUnit.HOURS, Decimal("6"), 0.2),
    (Payer.AGE_ALLOWANCE, EntitlementUnit.AMOUNT, Decimal("50.00"), 0.1),
]
PRICES = {PriceUnit.VISIT: Decimal("30.00"), PriceUnit.HOUR: Decimal("42.50")}

Say = Callable[[str], None]


@dataclass(frozen=True)
class Sizes:
    elders: int
    workers: int
    providers: int
    orders: int


def benchmark_district() -> District | None:
    return District.objects.filter(code=CODE).first()


def settlement_month(district: District) -> date | None:
    """The local month the district's work orders were seeded in (the first of it)."""
    first = (
        Visit.objects.filter(elder__district=district)
        .order_by("checked_in_at")
        .values_list("checked_in_at", flat=True)
        .first()
    )
    return first.astimezone(local_zone()).date().replace(day=1) if first else None


# What clear() deletes, in order: (table, column, None when the column is the district's id,
# else the query of the parent ids it names).
_REQUESTS = "SELECT id FROM dispatch_servicerequest WHERE district_id = %s"
_ELDERS = "SELECT id FROM elders_elder WHERE district_id = %s"
_PROVIDERS = "SELECT id FROM providers_provider WHERE district_id = %s"
_CHILDREN_FIRST = [
    ("core_event", "district_id", None),
    ("settlement_entitlement", "elder_id", _ELDERS),
    ("dispatch_complaint", "request_id", _REQUESTS),
    ("dispatch_feedback", "request_id", _REQUESTS),
    ("dispatch_operatoralert", "request_id", _REQUESTS),
    ("dispatch_visit", "request_id", _REQUESTS),
    ("dispatch_servicerequest", "district_id", None),
    ("providers_creditevent", "provider_id", _PROVIDERS),
    ("district_providerreach", "provider_id", _PROVIDERS),
    ("providers_providerservice", "provider_id", _PROVIDERS),
    ("providers_worker", "provider_id", _PROVIDERS),
    ("providers_provider", "district_id", None),
    ("elders_elder", "district_id", None),
]


def clear() -> None:
    """Delete the benchmark district and everything seeded in it, children first, in SQL (the
    ORM's cascade collector would read every row first)."""
    district = benchmark_district()
    with transaction.atomic(), connection.cursor() as cursor:
        if district is not None:
            for table, column, parent in _CHILDREN_FIRST:
                where = f"{column} = %s" if parent is None else f"{column} IN ({parent})"
                cursor.execute(f"DELETE FROM {table} WHERE {where}", [district.pk])  # noqa: S608
        cursor.execute(
            "DELETE FROM core_event WHERE actor_id IN (SELECT id FROM accounts_user "
            "WHERE username LIKE %s)",
            [f"{USERNAME}%"],
        )
        User.objects.filter(username__startswith=USERNAME).delete()
        if district is not None:
            district.delete()


def seed(*, sizes: Sizes, seed: int, say: Say) -> District:
    """Seed the district (after `clear()`), in one transaction: a run stopped while seeding
    leaves nothing half made."""
    rng = random.Random(seed)
    month = (local_today().replace(day=1) - timedelta(days=1)).replace(day=1)
    with transaction.atomic():
        district = District.objects.create(code=CODE, name="district benchmark")
        admin = User.objects.create(
            username=f"{USERNAME}admin", role=Role.DISTRICT_ADMIN, district=district, password="!"
        )
        rater = User.objects.create(username=f"{USERNAME}family", role=Role.FAMILY, password="!")
        elder_ids = _seed_elders(district, admin, sizes.elders, month, rng)
        say(f"  {sizes.elders} elders and their entitlements")
        providers = _seed_providers(district, sizes.providers, rng)
        workers = _seed_workers(providers, sizes.workers)
        say(f"  {sizes.providers} providers, {sizes.workers} workers")
        _seed_month(district, rater, elder_ids, workers, sizes.orders, month, rng, say)
        with connection.cursor() as cursor:
            for table in (
                "elders_elder",
                "providers_provider",
                "providers_providerservice",
                "providers_worker",
                "dispatch_servicerequest",
                "dispatch_visit",
                "dispatch_feedback",
                "dispatch_complaint",
                "dispatch_operatoralert",
                "providers_creditevent",
                "settlement_entitlement",
            ):
                cursor.execute(f"ANALYZE {table}")  # noqa: S608 - fixed names
    return district


def _ids(model: type[models.Model], n: int) -> list[int]:
    """`n` ids from the table's own sequence."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, n],
        )
        return [row[0] for row in cursor.fetchall()]


# Fields whose Python values psycopg writes as they are: Django's preparation of them (a few
# microseconds a value) is most of the seeding's time. Others (geometry, phone numbers, arrays)
# go through `get_db_prep_save`. Exact types: a subclass may prepare its value differently.
_AS_THEY_ARE = {
    models.AutoField,
    models.BigAutoField,
    models.BooleanField,
    models.CharField,
    models.DateField,
    models.DateTimeField,
    models.DecimalField,
    models.FloatField,
    models.ForeignKey,
    models.IntegerField,
    models.OneToOneField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SlugField,
    models.TextField,
}


def _copy(rows: Sequence[models.Model]) -> None:
    """Write model instances with COPY, each value prepared as Django's own INSERT prepares it
    (auto_now fields filled where left empty); rows without an id get one from the sequence."""
    if not rows:
        return
    model = type(rows[0])
    missing = [row for row in rows if row.pk is None]
    for row, pk in zip(missing, _ids(model, len(missing)), strict=True):
        row.pk = pk
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    now = timezone.now()
    prepare = [
        (
            f.attname,
            getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False),
            None if type(f) in _AS_THEY_ARE else f,
        )
        for f in fields
    ]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            values = []
            for attname, timed, field in prepare:
                value = getattr(row, attname)
                if value is None and timed:
                    value = now
                values.append(value if field is None else field.get_db_prep_save(value, connection))
            copy.write_row(values)


def _point(rng: random.Random) -> Point:
    return Point(
        CENTRE[0] + rng.uniform(-HALF_DEG[0], HALF_DEG[0]),
        CENTRE[1] + rng.uniform(-HALF_DEG[1], HALF_DEG[1]),
        srid=4326,
    )


def _ragged_area(base: Point, rng: random.Random) -> MultiPolygon:
    """A service area as drawn by hand: 200 vertices, 1-2.5 km from the base."""
    radius = rng.uniform(1000, 2500)
    ring = []
    for i in range(200):
        a = 2 * math.pi * i / 200
        r = radius * rng.uniform(0.85, 1.0) / 111_320
        ring.append(
            (base.x + r * math.cos(a) / math.cos(math.radians(base.y)), base.y + r * math.sin(a))
        )
    ring.append(ring[0])
    return MultiPolygon(Polygon(ring), srid=4326)


def _seed_elders(
    district: District, admin: User, n: int, month: date, rng: random.Random
) -> list[int]:
    """The elders (their ids, the active ones) and their entitlements."""
    ids = _ids(Elder, n)
    active = []
    for start in range(0, n, BATCH):
        batch = []
        for pk in ids[start : start + BATCH]:
            status = ElderStatus.ACTIVE
            if rng.random() < 0.01:
                status = rng.choice([ElderStatus.MOVED, ElderStatus.DECEASED])
            else:
                active.append(pk)
            batch.append(
                Elder(
                    pk=pk,
                    district=district,
                    full_name="基准",
                    gender=rng.choice(["female", "male"]),
                    address="基准小区",
                    location=_point(rng),
                    division_code=rng.choice(DIVISIONS),
                    categories=["low_income", "advanced_age"],
                    care_level=3,
                    status=status,
                )
            )
        _copy(batch)
    entitlements = [
        Entitlement(
            elder_id=pk,
            payer=payer,
            unit=unit,
            monthly=monthly,
            valid_from=month - timedelta(days=60),
            set_by=admin,
        )
        for payer, unit, monthly, share in ENTITLEMENT_PLANS
        for pk in ids
        if rng.random() < share
    ]
    _copy(entitlements)
    return active


def _seed_providers(district: District, n: int, rng: random.Random) -> list[Provider]:
    codes = list(ServiceType.objects.order_by("code").values_list("code", flat=True))
    providers = []
    for i in range(n):
        base = _point(rng)
        providers.append(
            Provider(
                district=district,
                name=f"基准服务商{i}",
                base_location=base,
                service_area=_ragged_area(base, rng) if i % 2 == 0 else None,
                service_radius_m=rng.choice([2000, 3000, 4000]),
                status="suspended" if i % 10 == 9 else "active",
            )
        )
    _copy(providers)
    services = []
    for provider in providers:
        share = rng.uniform(0.6, 0.9)
        offered = [code for code in codes if rng.random() < share] or [codes[0]]
        for code in offered:
            unit = rng.choice(list(PRICES))
            services.append(
                ProviderService(provider=provider, service_code=code, price=PRICES[unit], unit=unit)
            )
    _copy(services)
    return providers


def _seed_workers(providers: list[Provider], n: int) -> list[Worker]:
    users = [
        User(username=f"{USERNAME}worker-{i}", role=Role.WORKER, password="!") for i in range(n)
    ]
    _copy(users)
    workers = [
        Worker(
            user=user,
            provider=providers[i % len(providers)],
            full_name="基准",
            phone="+8613700000000",
        )
        for i, user in enumerate(users)
    ]
    _copy(workers)
    return workers


def _seed_month(
    district: District,
    rater: User,
    elder_ids: list[int],
    workers: list[Worker],
    n: int,
    month: date,
    rng: random.Random,
    say: Say,
) -> None:
    """`n` work orders in the local month, with their visits, ratings, complaints, alerts and
    credit events; each batch written table by table."""
    now = timezone.now()
    zone = local_zone()
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    span = (datetime(following.year, following.month, 1, tzinfo=zone) - start).total_seconds()
    types = {t.code: t for t in ServiceType.objects.all()}
    offered: dict[int, list[ProviderService]] = {}
    for service in ProviderService.objects.filter(provider__district=district):
        offered.setdefault(service.provider_id, []).append(service)
    here = Point(*CENTRE, srid=4326)
    for first in range(0, n, BATCH):
        size = min(BATCH, n - first)
        requests, visits, ratings, complaints, alerts, credit = [], [], [], [], [], []
        for pk in _ids(ServiceRequest, size):
            # Asked for between 07:00 and 19:00 on a day of the month (local time).
            day = start + timedelta(days=rng.randrange(int(span // 86400)))
            at = day + timedelta(hours=7, seconds=rng.uniform(0, 12 * 3600))
            worker = rng.choice(workers)
            service = rng.choice(offered[worker.provider_id])
            accepted = rng.random() < 0.85
            arrived = accepted and rng.random() < 0.97
            request = ServiceRequest(
                pk=pk,
                reference=f"BD{pk}",
                district=district,
                elder_id=rng.choice(elder_ids),
                service_type=types[service.service_code],
                channel="operator",
                priority="routine",
                window_start=at,
                window_end=at + timedelta(hours=2),
                match_at=at,
                accept_due_at=at + timedelta(minutes=10),
                arrive_due_at=at + timedelta(minutes=45),
                accepted_at=at + timedelta(seconds=rng.expovariate(1 / 300)) if accepted else None,
                arrived_at=at + timedelta(seconds=min(rng.expovariate(1 / 1200), 7000))
                if arrived
                else None,
                assigned_worker=worker if accepted else None,
                assigned_provider_id=worker.provider_id if accepted else None,
                state=RequestState.CLOSED if arrived else RequestState.FAILED,
                state_changed_at=at + timedelta(hours=3),
                created_at=at,
            )
            requests.append(request)
            if arrived:
                visits.append(_visit(request, worker, service, here, rng))
            elif accepted:
                alerts.append(
                    OperatorAlert(
                        request=request,
                        kind=AlertKind.NON_ARRIVAL,
                        raised_at=request.window_end,
                        resend_at=request.window_end,
                        acknowledged_at=request.window_end + timedelta(minutes=5),
                        resolved_at=request.window_end + timedelta(minutes=30),
                    )
                )
                if rng.random() < 1 / 3:  # the others: the elder was out, the order moved
                    credit.append(
                        CreditEvent(
                            provider_id=worker.provider_id,
                            worker=worker,
                            kind=CreditEventKind.NO_SHOW,
                            delta=Decimal("-5"),
                            reference=f"request:{pk}",
                            at=request.window_end,
                        )
                    )
        for visit in visits:
            out = visit.checked_out_at or visit.checked_in_at  # every seeded visit has both

            def after(delta: timedelta, out: datetime = out) -> datetime:
                return min(out + delta, now)

            if rng.random() < 0.5:
                rating = rng.choice([3, 4, 4, 5, 5])
                ratings.append(
                    Feedback(
                        request=visit.request,
                        rating=rating,
                        given_by=rater,
                        at=after(timedelta(hours=3)),
                    )
                )
                if rating == 5 and rng.random() < 0.1:
                    credit.append(
                        CreditEvent(
                            provider_id=visit.worker.provider_id,
                            worker=visit.worker,
                            kind=CreditEventKind.PRAISE,
                            delta=Decimal("1"),
                            reference=f"request:{visit.request_id}",
                            at=after(timedelta(hours=4)),
                        )
                    )
            if rng.random() < 0.01:
                state = rng.choice(list(ComplaintState.values))
                complaints.append(
                    Complaint(
                        request=visit.request,
                        text="基准",
                        state=state,
                        opened_at=after(timedelta(hours=5)),
                        decided_at=None
                        if state == ComplaintState.OPEN
                        else after(timedelta(days=2)),
                    )
                )
        for made in (requests, visits, ratings, complaints, alerts, credit):
            _copy(made)
        say(f"  {first + size} work orders")


def _visit(
    request: ServiceRequest,
    worker: Worker,
    service: ProviderService,
    here: Point,
    rng: random.Random,
) -> Visit:
    """The visit of an arrived work order, priced from the provider's list at check-in."""
    checked_in = request.arrived_at
    assert checked_in is not None  # noqa: S101 - only arrived work orders have a visit
    outside = rng.random() < 0.05
    return Visit(
        request=request,
        worker=worker,
        elder_id=request.elder_id,
        service_type=request.service_type,
        state=VisitState.COMPLETED,
        checked_in_at=checked_in,
        check_in_point=here,
        check_in_distance_m=10,
        checked_out_at=checked_in + timedelta(minutes=rng.randrange(20, 150)),
        price=service.price,
        price_unit=service.unit,
        exception_reason="gps_drift" if outside else "",
        exception_state=rng.choice(list(ExceptionState.values)) if outside else "",
    )
