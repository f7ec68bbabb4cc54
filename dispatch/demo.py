"""A synthetic district for demos and load: Chaoyang district of Changchun (长春市朝阳区,
division code 220104), with invented elders, providers and workers at random places inside a
box around its real centre. No real person's data."""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from backend.accounts.models import District, Role, User
from elders.models import Elder, EmergencyContact
from providers.models import (
    Certificate,
    Provider,
    ProviderKind,
    ProviderService,
    ShiftState,
    Worker,
    WorkerPosition,
)
from providers.services import positions_sync

from .catalogue import CATALOGUE

BOX = (125.24, 43.80, 125.36, 43.90)  # lng/lat box around the district's centre, WGS-84
DEMO_PASSWORD = "anxin-demo"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "秀英",
    "桂兰",
    "淑珍",
    "玉兰",
    "建国",
    "国庆",
    "德明",
    "凤英",
    "志强",
    "春华",
    "文华",
    "永福",
]
STREETS = ["红旗街", "西安大路", "湖西路", "开运街", "南湖大路", "工农大路", "延安大街", "同志街"]
SKILL_CODES = [code for code, *_ in CATALOGUE]
SERVICE_PRICES = [
    ("meal", "15.00", "meal"),
    ("bathing", "60.00", "visit"),
    ("cleaning", "40.00", "hour"),
    ("medical", "80.00", "visit"),
    ("escort", "35.00", "hour"),
    ("emergency", "0.00", "visit"),
    ("companionship", "30.00", "hour"),
    ("shopping", "20.00", "visit"),
    ("errands", "20.00", "visit"),
    ("welfare_check", "0.00", "visit"),
]


@dataclass(frozen=True)
class DemoSize:
    elders: int = 3000
    providers: int = 30
    workers: int = 300


DEMO_ACCOUNTS = [
    ("operator", Role.OPERATOR, "call-centre operator"),
    ("supervisor", Role.SUPERVISOR, "call-centre supervisor"),
    ("district", Role.DISTRICT_ADMIN, "district administrator"),
    ("provider", Role.PROVIDER_ADMIN, "provider administrator of provider 1"),
    ("worker1", Role.WORKER, "worker (on shift)"),
    ("family1", Role.FAMILY, "family member of elder 1"),
]


def _random_point(rng: random.Random) -> Point:
    return Point(rng.uniform(BOX[0], BOX[2]), rng.uniform(BOX[1], BOX[3]), srid=4326)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _phone(rng: random.Random, prefix: str) -> str:
    return f"+86{prefix}{rng.randrange(10**8):08d}"


@transaction.atomic
def demo_district_seed(
    size: DemoSize = DemoSize(), *, seed: int = 12349, progress: bool = True
) -> District:
    rng = random.Random(seed)
    password = make_password(DEMO_PASSWORD)
    district = District.objects.create(
        code="220104000000",
        name="朝阳区 (demo)",
        boundary=MultiPolygon(Polygon.from_bbox(BOX), srid=4326),
    )
    staff = {}
    for username, role, _ in DEMO_ACCOUNTS:
        staff[username] = User.objects.create(
            username=username,
            role=role,
            password=password,
            district=district
            if role in (Role.OPERATOR, Role.SUPERVISOR, Role.DISTRICT_ADMIN)
            else None,
            is_staff=role in (Role.SUPERVISOR, Role.DISTRICT_ADMIN),
            is_superuser=role == Role.DISTRICT_ADMIN,
        )
    bar = tqdm(
        total=size.elders + size.providers + size.workers,
        disable=not progress,
        desc="demo district",
        unit="rows",
    )

    elders = Elder.objects.bulk_create(
        Elder(
            district=district,
            full_name=_name(rng),
            gender=rng.choice(["female", "male"]),
            phone=_phone(rng, "138"),
            address=f"长春市朝阳区{rng.choice(STREETS)}{rng.randint(1, 999)}号",
            location=_random_point(rng),
        )
        for _ in range(size.elders)
    )
    bar.update(size.elders)
    contacts = [
        EmergencyContact(
            elder=elder, priority=1, name=_name(rng), relationship="child", phone=_phone(rng, "139")
        )
        for elder in elders
    ]
    contacts[0].user = staff["family1"]
    EmergencyContact.objects.bulk_create(contacts)

    providers = Provider.objects.bulk_create(
        Provider(
            district=district,
            name=f"安心第{i + 1}居家养老服务中心",
            credit_code=None,
            contact_name=_name(rng),
            contact_phone=_phone(rng, "135"),
            base_location=_random_point(rng),
            service_radius_m=rng.choice([3000, 5000, 8000]),
            kind=rng.choice([k.value for k in ProviderKind]),
        )
        for i in range(size.providers)
    )
    providers[0].admins.add(staff["provider"])
    # Every other provider gets an admin account too (p0002, p0003, ...), so whole jobs
    # offered to providers (shopping, errands) have someone to accept them.
    admins = User.objects.bulk_create(
        User(username=f"p{i + 1:04d}", role=Role.PROVIDER_ADMIN, password=password)
        for i in range(1, len(providers))
    )
    Provider.admins.through.objects.bulk_create(
        Provider.admins.through(provider=p, user=u)
        for p, u in zip(providers[1:], admins, strict=True)
    )

    # Every third provider draws its own service area: a box of about 8 x 6 km around its base.
    for provider in providers[::3]:
        x, y = provider.base_location.x, provider.base_location.y
        provider.service_area = MultiPolygon(
            Polygon.from_bbox((x - 0.05, y - 0.027, x + 0.05, y + 0.027)), srid=4326
        )
        provider.save(update_fields=["service_area"])
    ProviderService.objects.bulk_create(
        ProviderService(
            provider=p,
            service_code=code,
            price=price,
            unit=unit,
            subsidised=code in ("meal", "bathing", "welfare_check"),
        )
        for p in providers
        for code, price, unit in SERVICE_PRICES
        if code == "emergency" or rng.random() < 0.8
    )
    bar.update(size.providers)

    users = User.objects.bulk_create(
        User(username=f"w{i:04d}", role=Role.WORKER, password=password)
        for i in range(1, size.workers)
    )
    users.insert(0, staff["worker1"])
    workers = Worker.objects.bulk_create(
        Worker(
            user=user,
            provider=providers[i % len(providers)],
            full_name=_name(rng),
            phone=_phone(rng, "137"),
            skills=sorted({"meal", "welfare_check", *rng.sample(SKILL_CODES, 3)}),
            shift_state=ShiftState.ON if i == 0 or rng.random() < 0.6 else ShiftState.OFF,
            capacity=rng.choice([1, 1, 2]),
        )
        for i, user in enumerate(users)
    )
    expires = timezone.localdate() + timedelta(days=365)
    Certificate.objects.bulk_create(
        Certificate(
            worker=w,
            kind=kind,
            number=f"DEMO-{w.pk}-{kind}",
            expires_on=expires - timedelta(days=rng.randrange(0, 400)),
        )
        for w in workers
        for kind in ("health", "care_worker", "first_aid", "nurse")
        if kind != "nurse" or "medical" in w.skills
    )
    now = timezone.now()
    WorkerPosition.objects.bulk_create(
        WorkerPosition(worker=w, point=_random_point(rng), recorded_at=now) for w in workers
    )
    positions_sync()
    bar.update(size.workers)
    bar.close()
    return district
