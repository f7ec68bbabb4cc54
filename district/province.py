"""A province's shape, seeded at a size this machine holds, for `manage.py simulate_province`.

The full province (PROVINCE) is 6 million elders and 100,000 workers in 100 districts. The
platform partitions naturally by district (docs/capacity.md): an elder, a provider, its workers,
a work order and an alarm all belong to one. So the simulation seeds `districts` districts of the
province's own proportions, each `scale` of a full district (60,000 elders, 1,000 workers of 40
providers, one alarm device per five elders), side by side on a grid as a province's districts
lie, and measures on them what one process does.

Districts are coded 2298NN000000 (a code no real district has) and its users are named
`province-`; `clear()` deletes both and everything that refers to them through the database's
own foreign keys (backend/core/subtree.py), so whatever the run made (work orders, offers,
events, alarms, notifications, tokens) goes with them.

Rows go in with COPY (district/synthetic.py `_copy`): at a province's proportions `bulk_create`
spends most of the seeding building SQL.
"""

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.utils import timezone

from backend.accounts.models import District, Role, User
from backend.core.crypto import field_encrypt
from backend.core.subtree import delete_with_dependents
from dispatch.catalogue import CATALOGUE
from district.synthetic import _copy
from elders.models import AlarmDevice, Elder, ElderStatus
from providers.models import (
    Certificate,
    Provider,
    ProviderService,
    ShiftState,
    Worker,
    WorkerPosition,
)
from providers.services import positions_sync

CODE_PREFIX = "2298"
USERNAME = "province-"
# One secret for every simulated device: the platform keeps it encrypted as it keeps any.
DEVICE_SECRET = "province-simulation-device-secret"
SERIAL = "PROVINCE-"
SKILLS = [row[0] for row in CATALOGUE]
CERTIFICATES = {row[0]: row[6] for row in CATALOGUE}
# The province lies on a 10 x 10 grid of districts, each 30 x 30 km around its centre.
ORIGIN = (122.0, 41.5)
STEP_DEG = (0.5, 0.35)
HALF_DEG = (0.187, 0.135)

Say = Callable[[str], None]


@dataclass(frozen=True)
class Shape:
    """The full province, as issue 17 gives it, and the proportions of one of its districts."""

    elders: int = 6_000_000
    workers: int = 100_000
    districts: int = 100
    storm_alarms_per_minute: int = 5_000
    providers_per_district: int = 40
    devices_per_elder: float = 0.2  # one alarm button for every five elders
    on_shift_at_peak: float = 0.6  # workers on shift in the busiest hour

    @property
    def elders_per_district(self) -> int:
        return self.elders // self.districts

    @property
    def workers_per_district(self) -> int:
        return self.workers // self.districts


PROVINCE = Shape()


@dataclass(frozen=True)
class Seeded:
    """What one run seeded: the districts' ids and how many of each."""

    district_ids: list[int]
    elders: int
    workers: int
    providers: int
    devices: int

    @property
    def districts(self) -> int:
        return len(self.district_ids)


def code(n: int) -> str:
    return f"{CODE_PREFIX}{n:02d}000000"


def centre(n: int) -> tuple[float, float]:
    return (ORIGIN[0] + STEP_DEG[0] * (n % 10), ORIGIN[1] + STEP_DEG[1] * (n // 10))


def clear() -> dict[str, int]:
    """Delete the simulation's districts, users and everything that refers to them."""
    return delete_with_dependents(
        {
            "accounts_district": ("code LIKE %s AND length(code) = 12", [f"{CODE_PREFIX}%"]),
            "accounts_user": ("username LIKE %s", [f"{USERNAME}%"]),
        }
    )


def seed(*, districts: int, scale: float, seed: int, shape: Shape, say: Say) -> Seeded:
    """Seed `districts` districts, each `scale` of one of the shape's, in one transaction: a run
    stopped while seeding leaves nothing half made."""
    if not 1 <= districts <= shape.districts:
        raise ValueError(f"districts: 1 to {shape.districts}")
    rng = random.Random(seed)
    elders = max(10, round(shape.elders_per_district * scale))
    workers = max(6, round(shape.workers_per_district * scale))
    providers = max(2, round(shape.providers_per_district * scale))
    devices = max(5, round(elders * shape.devices_per_elder))
    ids = []
    secret = field_encrypt(DEVICE_SECRET)
    with transaction.atomic():
        for n in range(districts):
            district = District.objects.create(code=code(n), name=f"省级模拟区 {n:02d}")
            ids.append(district.pk)
            elder_ids = _seed_elders(district, n, elders, rng, scale)
            provider_rows = _seed_providers(district, n, providers, rng, scale)
            _seed_workers(district, n, provider_rows, workers, shape.on_shift_at_peak, rng, scale)
            _seed_devices(n, elder_ids[:devices], secret)
            say(
                f"  district {code(n)}: {elders} elders, {providers} providers, {workers} "
                f"workers, {devices} alarm devices"
            )
        with connection.cursor() as cursor:
            for table in (
                "elders_elder",
                "elders_alarmdevice",
                "providers_provider",
                "providers_providerservice",
                "providers_worker",
                "providers_workerposition",
                "providers_certificate",
                "accounts_user",
            ):
                cursor.execute(f"ANALYZE {table}")  # noqa: S608 - fixed names
    return Seeded(
        ids, elders * districts, workers * districts, providers * districts, devices * districts
    )


def _point(n: int, rng: random.Random, scale: float) -> Point:
    """Somewhere in district n. A district at `scale` covers `scale` of a full one's area, so
    that elders, workers and providers are as dense as in a full one: what matching finds
    around a home, and how far its walk goes, are a full district's."""
    x, y = centre(n)
    side = math.sqrt(scale)
    return Point(
        x + rng.uniform(-HALF_DEG[0], HALF_DEG[0]) * side,
        y + rng.uniform(-HALF_DEG[1], HALF_DEG[1]) * side,
        srid=4326,
    )


def _seed_elders(
    district: District, n: int, count: int, rng: random.Random, scale: float
) -> list[int]:
    rows = [
        Elder(
            district=district,
            full_name="模拟",
            gender=rng.choice(["female", "male"]),
            address="模拟小区",
            location=_point(n, rng, scale),
            division_code=f"{code(n)[:9]}{rng.randrange(1, 20):03d}",
            care_level=rng.choice([1, 2, 3]),
            status=ElderStatus.ACTIVE,
        )
        for _ in range(count)
    ]
    _copy(rows)
    return [row.pk for row in rows]


def _seed_providers(
    district: District, n: int, count: int, rng: random.Random, scale: float
) -> list[Provider]:
    providers = [
        Provider(
            district=district,
            name=f"模拟服务商 {code(n)}-{i}",
            base_location=_point(n, rng, scale),
            service_radius_m=rng.choice([6000, 8000, 10000]),
            status="active",
        )
        for i in range(count)
    ]
    _copy(providers)
    _copy(
        [
            ProviderService(provider=p, service_code=skill, price=30, unit="visit")
            for p in providers
            for skill in SKILLS
        ]
    )
    return providers


def _seed_workers(
    district: District,
    n: int,
    providers: list[Provider],
    count: int,
    on_shift: float,
    rng: random.Random,
    scale: float,
) -> None:
    """Workers spread over the district where its elders live (each within reach of their
    provider's radius or not, as it falls), the first of them always on shift."""
    users = [
        User(username=f"{USERNAME}{district.code}-worker-{i}", role=Role.WORKER, password="!")
        for i in range(count)
    ]
    _copy(users)
    workers = []
    for i, user in enumerate(users):
        capacity = rng.choice([1, 1, 2])
        workers.append(
            Worker(
                user=user,
                provider=providers[i % len(providers)],
                full_name="模拟护理员",
                phone="+8613700000000",
                # Every worker can answer an emergency: the storm's matching finds someone.
                skills=sorted({"emergency", *rng.sample(SKILLS, rng.randint(3, 6))}),
                shift_state=ShiftState.ON if i == 0 or rng.random() < on_shift else ShiftState.OFF,
                capacity=capacity,
                active_jobs=0,
            )
        )
    _copy(workers)
    expires = timezone.localdate() + timedelta(days=300)
    _copy(
        [
            Certificate(worker=w, kind=kind, number="模拟", expires_on=expires)
            for w in workers
            for kind in sorted({k for skill in w.skills for k in CERTIFICATES[skill]})
        ]
    )
    now = timezone.now()
    _copy(
        [
            WorkerPosition(
                worker=w,
                point=_point(n, rng, scale),
                recorded_at=now - timedelta(seconds=rng.randrange(60)),
            )
            for w in workers
        ]
    )
    positions_sync(worker_ids=[w.pk for w in workers])


def _seed_devices(n: int, elder_ids: list[int], secret: str) -> None:
    now = timezone.now()
    _copy(
        [
            AlarmDevice(
                elder_id=pk,
                serial=f"{SERIAL}{code(n)}-{i:06d}",
                kind="button",
                last_heartbeat_at=now,
                secret_encrypted=secret,
            )
            for i, pk in enumerate(elder_ids)
        ]
    )


def users_for(district_ids: list[int], role: str, count: int, label: str) -> list[User]:
    """`count` users of the role, spread over the districts in turn (operators, so that no one
    of them meets the operators' write throttle)."""
    users = [
        User(
            username=f"{USERNAME}{label}-{i}",
            role=role,
            district_id=district_ids[i % len(district_ids)],
            password="!",
        )
        for i in range(count)
    ]
    _copy(users)
    return users
