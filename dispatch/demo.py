"""A synthetic district for demos: Chaoyang district of Changchun (长春市朝阳区, division code
220104), with invented elders, providers and workers in a dozen invented communities (社区)
inside a box around its real centre. No real person's data, and no ID numbers at all: a
made-up number that passes the checks could be a real person's.

Everything is written through the registries' and dispatch's services, so the demo passes the
same rules and leaves the same audit rows as real data. What is random comes from one seed.

The demo accounts play together. family1 is the daughter of 王淑珍 (elder 1), whose home lies
inside the service area of the `provider` account's community centre (and nearest its base, so
whole jobs go there); worker1, that centre's caregiver, is on shift next door with every skill
and certificate a family can ask for, and served her before (the seed runs that first meal
through the real loop, and refuses to finish if worker1 is not the one offered it). So when
family1 asks for a meal, a bath or any other visit, worker1 gets the offer; shopping and
errands go to `provider` as whole jobs.
"""

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from tqdm import tqdm

from backend.accounts import services as accounts
from backend.accounts.models import District, Role, User
from backend.accounts.otp import demo_otp_key
from elders import services as registry
from elders.assessment import BARTHEL_ITEMS, DIMENSION_MAX, gb_level
from elders.models import (
    AlarmDevice,
    CareNeed,
    Category,
    DeviceKind,
    Elder,
    EmergencyContact,
    LivingArrangement,
)
from hotline.models import HotlineNumber
from providers import services as registrar
from providers.models import (
    CertificateKind,
    Provider,
    ProviderKind,
    ProviderService,
    ShiftState,
    Worker,
)

from . import services
from .catalogue import CATALOGUE
from .follow_up import feedback_record
from .models import Channel, JobOffer, ServiceType

BOX = (125.24, 43.80, 125.36, 43.90)  # lng/lat box around the district's centre, WGS-84
DISTRICT_CODE = "220104000000"
DEMO_PASSWORD = "anxin-demo"
DEMO_SEED = 12349
# The demo district's hotline (0431-12349, Changchun), which is also local.py's
# TWILIO_FROM_NUMBER; operators are put through to these (synthetic) phones.
DEMO_HOTLINE = "+8643112349"
DEMO_STAFF_PHONES = {"operator": "+8613900012349", "supervisor": "+8613900012350"}


@dataclass(frozen=True)
class DemoSize:
    elders: int = 3000
    providers: int = 30
    workers: int = 300


DEMO_ACCOUNTS = [
    ("operator", Role.OPERATOR, "call-centre operator"),
    ("supervisor", Role.SUPERVISOR, "call-centre supervisor (admin site)"),
    ("district", Role.DISTRICT_ADMIN, "district administrator (admin site, this district only)"),
    ("provider", Role.PROVIDER_ADMIN, "runs 红旗街社区居家养老服务中心, which serves elder 1"),
    ("worker1", Role.WORKER, "that centre's caregiver, on shift next door to elder 1"),
    ("family1", Role.FAMILY, "daughter of 王淑珍 (elder 1): asks for her services"),
]


# Places ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Community:
    """A community (社区): its 12-digit code is invented in the district's pattern."""

    code: str
    name: str
    centre: tuple[float, float]
    weight: float  # how many older residents, relative


COMMUNITIES = [
    Community("220104001001", "红旗街", (125.3215, 43.8875), 1.4),
    Community("220104001002", "桂林路", (125.3040, 43.8780), 1.3),
    Community("220104002001", "同志街", (125.3400, 43.8700), 1.1),
    Community("220104003001", "西安大路", (125.2850, 43.8920), 1.0),
    Community("220104004001", "湖西路", (125.2650, 43.8620), 0.9),
    Community("220104005001", "南湖", (125.3150, 43.8450), 1.2),
    Community("220104003002", "工农大路", (125.2900, 43.8650), 1.0),
    Community("220104001003", "延安大街", (125.3030, 43.8960), 0.8),
    Community("220104006001", "开运街", (125.2550, 43.8300), 0.7),
    Community("220104007001", "永昌", (125.3450, 43.8200), 0.9),
    Community("220104004002", "前进", (125.2580, 43.8850), 0.8),
    Community("220104007002", "富锋", (125.3250, 43.8150), 0.6),
]
HOME_1 = (125.3245, 43.8868)  # elder 1's home in 红旗街 community
KEEP_CLEAR_M = 500  # no other worker or provider base this close to elder 1's home
M_PER_DEG_LAT = 111_320.0
M_PER_DEG_LNG = M_PER_DEG_LAT * math.cos(math.radians(43.85))


def offset(base: tuple[float, float], east_m: float, north_m: float) -> tuple[float, float]:
    """A place `east_m` and `north_m` metres from `base`, kept inside the district's box."""
    lng = min(max(base[0] + east_m / M_PER_DEG_LNG, BOX[0]), BOX[2])
    lat = min(max(base[1] + north_m / M_PER_DEG_LAT, BOX[1]), BOX[3])
    return lng, lat


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot((a[0] - b[0]) * M_PER_DEG_LNG, (a[1] - b[1]) * M_PER_DEG_LAT)


def _point(where: tuple[float, float]) -> Point:
    return Point(where[0], where[1], srid=4326)


def _near(rng: random.Random, centre: tuple[float, float], sigma_m: float) -> tuple[float, float]:
    return offset(centre, rng.gauss(0, sigma_m), rng.gauss(0, sigma_m))


def _away_from_home_1(draw: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    while True:
        where = draw()
        if _metres(where, HOME_1) >= KEEP_CLEAR_M:
            return where


def _area(centre: tuple[float, float], half_m: float) -> MultiPolygon:
    west, south = offset(centre, -half_m, -half_m)
    east, north = offset(centre, half_m, half_m)
    return MultiPolygon(Polygon.from_bbox((west, south, east, north)), srid=4326)


# People ----------------------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗于董"
GIVEN = {
    "female": ["秀英", "桂兰", "淑珍", "玉兰", "凤英", "桂芝", "秀兰", "玉珍", "淑华", "玉梅"],
    "male": ["建国", "国庆", "德明", "志强", "永福", "文华", "国华", "振华", "福林", "长海"],
}
YOUNGER = ["丽", "伟", "静", "磊", "敏", "军", "娜", "勇", "燕", "强", "红", "波"]

# Age bands of the over-60s in a northern Chinese city (per cent): most are in their sixties.
AGE_BANDS = [
    ((60, 64), 30),
    ((65, 69), 25),
    ((70, 74), 18),
    ((75, 79), 12),
    ((80, 84), 8),
    ((85, 89), 5),
    ((90, 94), 1.5),
    ((95, 100), 0.5),
]
# (alone, empty nest, with family, left behind) per cent, by age from 60, 70 and 80.
LIVING = [
    LivingArrangement.ALONE,
    LivingArrangement.EMPTY_NEST,
    LivingArrangement.WITH_FAMILY,
    LivingArrangement.LEFT_BEHIND,
]
LIVING_BY_AGE = {60: [8, 45, 45, 2], 70: [14, 44, 40, 2], 80: [22, 28, 48, 2]}
# GB/T 42195 levels 0-4 per cent, by age from 60, 70, 80 and 90.
LEVEL_BY_AGE = {
    60: [70, 22, 5, 2, 1],
    70: [50, 33, 10, 5, 2],
    80: [25, 40, 18, 11, 6],
    90: [10, 35, 25, 18, 12],
}
DEMENTIA_BY_AGE = {60: 0.02, 70: 0.06, 80: 0.15}
# Categories given to a share of the district (per cent), at least one elder each.
CATEGORY_SHARES = [
    (Category.LOW_INCOME, 4.0),
    (Category.EXTREME_POVERTY, 0.8),  # 特困: no family to rely on, so living alone
    (Category.VETERAN, 2.0),
    (Category.FAMILY_PLANNING, 1.0),
]
ASSESSORS = [
    "朝阳区老年人能力评估站 李敏",
    "朝阳区老年人能力评估站 赵红",
    "长春市康复评估中心 刘伟",
]


def _by_age(table: dict, age: int):
    return table[max(k for k in table if k <= age)]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _birth_date(rng: random.Random, age: int, today: date) -> date:
    """A birth date that makes the person exactly `age` today."""
    latest = _years_before(today, age)
    earliest = _years_before(today, age + 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))


def _name(rng: random.Random, gender: str) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN[gender])


def _mobile(rng: random.Random, prefix: str = "13") -> str:
    return f"+86{prefix}{rng.randrange(10**9 if len(prefix) == 2 else 10**8):0{11 - len(prefix)}d}"


def _landline(rng: random.Random) -> str:
    return f"+86431{rng.choice('58')}{rng.randrange(10**7):07d}"  # Changchun, 0431


@dataclass
class ElderPlan:
    """One elder's file, drawn before anything is written."""

    fields: dict
    age: int
    living: str
    level: int
    dementia: bool
    categories: set[str] = field(default_factory=set)
    assessment: dict = field(default_factory=dict)
    contacts: list[dict] = field(default_factory=list)
    care_needs: list[dict] = field(default_factory=list)
    devices: list[dict] = field(default_factory=list)


def _scores(rng: random.Random, total: int, *, dementia: bool) -> dict[str, int]:
    """Split a GB/T 42195 total over the four dimensions; dementia costs mostly mental state."""
    scores = dict(DIMENSION_MAX)
    weights = {
        **DIMENSION_MAX,
        "mental_state": DIMENSION_MAX["mental_state"] * (4 if dementia else 1),
    }
    for _ in range(sum(DIMENSION_MAX.values()) - total):
        left = [n for n in scores if scores[n] > 0]
        scores[rng.choices(left, weights=[weights[n] for n in left])[0]] -= 1
    return scores


def _barthel(rng: random.Random, scores: dict[str, int]) -> dict[str, int]:
    """Barthel items consistent with self-care and motor ability."""
    able = (scores["self_care"] + scores["basic_motor"]) / (
        DIMENSION_MAX["self_care"] + DIMENSION_MAX["basic_motor"]
    )
    items = {}
    for name, allowed in BARTHEL_ITEMS.items():
        aim = min(max(able + rng.uniform(-0.15, 0.15), 0), 1) * allowed[-1]
        items[name] = min(allowed, key=lambda v: abs(v - aim))
    return items


def _elder_plan(rng: random.Random, today: date) -> ElderPlan:
    community = rng.choices(COMMUNITIES, weights=[c.weight for c in COMMUNITIES])[0]
    band = rng.choices([b for b, _ in AGE_BANDS], weights=[w for _, w in AGE_BANDS])[0]
    age = rng.randint(*band)
    gender = "female" if rng.random() < 0.52 + 0.08 * (age >= 80) + 0.08 * (age >= 90) else "male"
    living = rng.choices(LIVING, weights=_by_age(LIVING_BY_AGE, age))[0]
    dementia = rng.random() < _by_age(DEMENTIA_BY_AGE, age)
    level = rng.choices(range(5), weights=_by_age(LEVEL_BY_AGE, age))[0]
    level = max(level, 1) if dementia else level
    where = _near(rng, community.centre, 700)
    fields = {
        "full_name": _name(rng, gender),
        "gender": gender,
        "birth_date": _birth_date(rng, age, today),
        "phone": _mobile(rng) if rng.random() < (0.85 if age < 85 else 0.55) else "",
        "landline": _landline(rng) if rng.random() < 0.35 else "",
        "address": f"长春市朝阳区{community.name}{rng.randint(1, 400)}号"
        f"{rng.randint(1, 12)}栋{rng.randint(1, 6)}单元{rng.randint(1, 7)}0{rng.randint(1, 4)}",
        "location": _point(where),
        "division_code": community.code,
        "living_arrangement": living,
    }
    return ElderPlan(fields=fields, age=age, living=living, level=level, dementia=dementia)


def _assess(rng: random.Random, plan: ElderPlan, today: date) -> None:
    """Everyone 70 or older, frail, living alone or with dementia has been assessed (the
    subsidies need it); of the healthy sixty-somethings, about four in ten."""
    routine = (
        plan.age >= 70 or plan.level >= 2 or plan.dementia or plan.living == LivingArrangement.ALONE
    )
    if not routine and rng.random() < 0.6:
        return
    total = rng.choice([t for t in range(91) if gb_level(t) == plan.level])
    scores = _scores(rng, total, dementia=plan.dementia)
    plan.assessment = {
        **scores,
        "assessed_on": today - timedelta(days=rng.randrange(420)),  # a few are due again
        "assessor_name": rng.choice(ASSESSORS),
        "barthel_items": _barthel(rng, scores),
    }


def _categorise(rng: random.Random, plans: list[ElderPlan]) -> None:
    for plan in plans:
        plan.categories |= {Category.ADVANCED_AGE} if plan.age >= 80 else set()
        plan.categories |= {Category.DISABLED} if plan.level >= 2 else set()
        plan.categories |= {Category.DEMENTIA} if plan.dementia else set()
    for category, share in CATEGORY_SHARES:
        pool = [p for p in plans if p.living == LivingArrangement.ALONE]
        pool = pool if category == Category.EXTREME_POVERTY and pool else plans
        for plan in rng.sample(pool, min(len(pool), max(1, round(len(plans) * share / 100)))):
            plan.categories.add(category)
    for plan in plans:
        plan.fields["categories"] = sorted(plan.categories)


def _contacts(rng: random.Random, plan: ElderPlan) -> None:
    """Children first, then a neighbour; someone in 特困 has only the community's grid worker."""
    people = []
    if Category.EXTREME_POVERTY not in plan.categories:
        if plan.living != LivingArrangement.ALONE or rng.random() < 0.85:
            people.append(rng.choice(["daughter", "son"]))
        if plan.living == LivingArrangement.WITH_FAMILY and rng.random() < 0.5:
            people.append(rng.choice(["daughter", "son"]))
    if (
        plan.living in (LivingArrangement.ALONE, LivingArrangement.LEFT_BEHIND)
        and rng.random() < 0.6
    ):
        people.append("neighbour")
    if not people or Category.EXTREME_POVERTY in plan.categories:
        people.append("grid worker (网格员)")
    surname = plan.fields["full_name"][0]
    for priority, relationship in enumerate(people, start=1):
        family = relationship in ("daughter", "son")
        plan.contacts.append(
            {
                "priority": priority,
                "name": (surname if family else rng.choice(SURNAMES)) + rng.choice(YOUNGER),
                "relationship": relationship,
                "phone": _mobile(rng, "139" if family else "135"),
                "wants_sms": family,
            }
        )


def _care_plan(rng: random.Random, plan: ElderPlan, today: date) -> None:
    """Daily lunches for those who cannot cook for themselves; a weekly welfare check (巡访)
    for everyone living alone, twice a week for 特困."""
    starts_on = today - timedelta(days=rng.randrange(30, 400))
    alone = plan.living == LivingArrangement.ALONE
    poor = plan.categories & {Category.LOW_INCOME, Category.EXTREME_POVERTY}
    meals = (
        (plan.level >= 3 and plan.living != LivingArrangement.WITH_FAMILY)
        or (alone and (plan.age >= 85 or plan.level >= 2 or poor))
        or rng.random() < 0.01
    )
    if meals:
        hour, minute = rng.choice([(11, 0), (11, 30), (11, 30), (12, 0)])
        diet = rng.choice(["", "低盐", "低糖", "软食"] if plan.level < 3 else ["软食", "流食"])
        plan.care_needs.append(
            {
                "service_code": "meal",
                "rrule": f"FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute}",
                "starts_on": starts_on,
                "duration_minutes": 30,
                "notes": f"午餐送餐上门 {diet}".strip(),
            }
        )
    if alone:
        days = (
            "MO,TH"
            if Category.EXTREME_POVERTY in plan.categories
            else rng.choice(["MO", "TU", "WE", "TH", "FR"])
        )
        plan.care_needs.append(
            {
                "service_code": "welfare_check",
                "rrule": f"FREQ=WEEKLY;BYDAY={days};BYHOUR={rng.randint(9, 16)};BYMINUTE=0",
                "starts_on": starts_on,
                "duration_minutes": 30,
                "notes": "独居老人每周巡访",
            }
        )


DEVICE_PREFIX = {
    DeviceKind.BUTTON: "BTN",
    DeviceKind.WATCH: "WCH",
    DeviceKind.FALL_DETECTOR: "FALL",
    DeviceKind.SMOKE: "SMK",
    DeviceKind.GAS: "GAS",
}


def _devices(rng: random.Random, plan: ElderPlan, now, serials: dict[str, int]) -> None:
    """One-touch buttons for most who live alone or are frail, watches for dementia (wandering),
    fall detectors for the disabled, smoke and gas sensors in homes of people alone."""
    alone = plan.living == LivingArrangement.ALONE
    chances = {
        DeviceKind.BUTTON: 0.8 if alone else 0.35 if plan.level >= 2 or plan.age >= 80 else 0.02,
        DeviceKind.WATCH: 0.4 if plan.dementia else 0.005,
        DeviceKind.FALL_DETECTOR: 0.2 if plan.level >= 2 else 0.0,
        DeviceKind.SMOKE: 0.25 if alone else 0.0,
        DeviceKind.GAS: 0.1 if alone else 0.0,
    }
    for kind, chance in chances.items():
        if rng.random() >= chance:
            continue
        serials[kind] = serials.get(kind, 0) + 1
        offline = rng.random() < 0.05
        plan.devices.append(
            {
                "serial": f"AX-{DEVICE_PREFIX[kind]}-{serials[kind]:07d}",
                "kind": kind,
                "last_heartbeat_at": now
                - (
                    timedelta(days=rng.randint(2, 30))
                    if offline
                    else timedelta(minutes=rng.randrange(20))
                ),
                "battery_pct": rng.randint(3, 15) if rng.random() < 0.03 else rng.randint(20, 100),
            }
        )


def elder_plans(rng: random.Random, count: int) -> list[ElderPlan]:
    """Elder 1 (family1's mother), then `count - 1` drawn at random."""
    today, now = timezone.localdate(), timezone.now()
    serials: dict[str, int] = {}
    first = _elder_1(today, serials)
    plans = [_elder_plan(rng, today) for _ in range(count - 1)]
    for plan in plans:
        _assess(rng, plan, today)
    _categorise(rng, plans)
    for plan in plans:
        _contacts(rng, plan)
        _care_plan(rng, plan, today)
        _devices(rng, plan, now, serials)
    return [first, *plans]


def _elder_1(today: date, serials: dict[str, int]) -> ElderPlan:
    """王淑珍, 84, lives with her husband (空巢); her daughter (family1) orders what she needs in
    the app, so she has no care plan of her own."""
    plan = ElderPlan(
        fields={
            "full_name": "王淑珍",
            "gender": "female",
            "birth_date": _years_before(today, 84) - timedelta(days=100),
            "phone": "+8613804310001",
            "landline": "+8643188510001",
            "address": "长春市朝阳区红旗街128号3栋2单元501",
            "location": _point(HOME_1),
            "division_code": COMMUNITIES[0].code,
            "living_arrangement": LivingArrangement.EMPTY_NEST,
            "categories": [Category.ADVANCED_AGE],
        },
        age=84,
        living=LivingArrangement.EMPTY_NEST,
        level=1,
        dementia=False,
    )
    plan.assessment = {
        "self_care": 26,
        "basic_motor": 11,
        "mental_state": 27,
        "perception_social": 10,
        "assessed_on": today - timedelta(days=60),
        "assessor_name": ASSESSORS[0],
        "barthel_items": {
            **{n: a[-1] for n, a in BARTHEL_ITEMS.items()},
            "bathing": 0,
            "stairs": 5,
        },
    }
    plan.contacts = [
        {"priority": 1, "name": "李丽", "relationship": "daughter", "phone": "+8613904310001"},
        {"priority": 2, "name": "李伟", "relationship": "son", "phone": "+8613904310002"},
    ]
    serials[DeviceKind.BUTTON] = serials.get(DeviceKind.BUTTON, 0) + 1
    plan.devices = [
        {
            "serial": f"AX-BTN-{serials[DeviceKind.BUTTON]:07d}",
            "kind": DeviceKind.BUTTON,
            "last_heartbeat_at": timezone.now(),
            "battery_pct": 90,
        }
    ]
    return plan


# Providers and workers -------------------------------------------------------------------------

ALL_SERVICES = [code for code, *_ in CATALOGUE]
KIND_SERVICES = {
    ProviderKind.COMMUNITY_CENTRE: [
        *("meal", "bathing", "cleaning", "escort", "companionship"),
        *("shopping", "errands", "welfare_check", "emergency"),
    ],
    ProviderKind.HOME_CARE: [
        *("meal", "bathing", "cleaning", "medical", "escort"),
        *("companionship", "welfare_check", "emergency"),
    ],
    ProviderKind.DAY_CARE: ["meal", "bathing", "companionship", "welfare_check"],
    ProviderKind.MEAL_POINT: ["meal"],
    ProviderKind.CLINIC: ["medical", "escort", "emergency"],
    ProviderKind.VOLUNTEER: ["companionship", "welfare_check", "shopping", "errands"],
}
KIND_NAME = {
    ProviderKind.COMMUNITY_CENTRE: "社区居家养老服务中心",
    ProviderKind.HOME_CARE: "居家养老服务有限公司",
    ProviderKind.DAY_CARE: "日间照料中心",
    ProviderKind.MEAL_POINT: "长者食堂",
    ProviderKind.CLINIC: "社区卫生服务站",
    ProviderKind.VOLUNTEER: "志愿服务队",
}
# Beyond one community centre per community: kind, share (per cent), reach in metres,
# staff per provider (relative).
KIND_MIX = [
    (ProviderKind.HOME_CARE, 35, (6000, 8000), 3.0),
    (ProviderKind.MEAL_POINT, 20, (2500, 2500), 1.0),
    (ProviderKind.DAY_CARE, 15, (3000, 3000), 1.5),
    (ProviderKind.CLINIC, 15, (5000, 5000), 1.5),
    (ProviderKind.VOLUNTEER, 15, (4000, 4000), 1.5),
]
STAFF_WEIGHT: dict[str, float] = {
    ProviderKind.COMMUNITY_CENTRE: 2.0,
    **{k: s for k, _, _, s in KIND_MIX},
}
PRICES = {
    "meal": ("15.00", "meal"),
    "bathing": ("60.00", "visit"),
    "cleaning": ("40.00", "hour"),
    "medical": ("80.00", "visit"),
    "escort": ("35.00", "hour"),
    "emergency": ("0.00", "visit"),
    "companionship": ("30.00", "hour"),
    "shopping": ("20.00", "visit"),
    "errands": ("20.00", "visit"),
    "welfare_check": ("0.00", "visit"),
}
SUBSIDISED = {"meal", "bathing", "welfare_check"}
CENTRE_HALF_M = 2000  # a community centre's service area: 4 x 4 km around its base
PROVIDER_1_BASE = offset(HOME_1, -400, 0)
WORKER_1_AT = offset(HOME_1, 120, 90)  # 150 m from elder 1's door
WORKER_1 = {"full_name": "刘春华", "gender": "female", "phone": "+8613704310001", "capacity": 2}
WORKER_GIVEN = {
    "female": ["丽娟", "红梅", "秀芳", "晓燕", "玉霞", "丽", "静", "桂芝", "淑芬", "秋菊"],
    "male": ["志刚", "建军", "海涛", "伟", "勇", "国栋", "立新", "长春"],
}


@dataclass(frozen=True)
class ProviderPlan:
    kind: str
    name: str
    base: tuple[float, float]
    reach: dict  # service_area, or service_radius_m
    services: list[str]


def provider_plans(rng: random.Random, count: int) -> list[ProviderPlan]:
    """Provider 1 is 红旗街's community centre, near elder 1 and offering everything; then a
    centre for each other community, then the mix of companies, meal points, day-care
    centres, clinics and volunteers, none based nearer elder 1 than provider 1."""
    plans = [
        ProviderPlan(
            ProviderKind.COMMUNITY_CENTRE,
            COMMUNITIES[0].name + KIND_NAME[ProviderKind.COMMUNITY_CENTRE],
            PROVIDER_1_BASE,
            {"service_area": _area(PROVIDER_1_BASE, CENTRE_HALF_M)},
            ALL_SERVICES,
        )
    ]
    for community in COMMUNITIES[1:count]:
        kind = ProviderKind.COMMUNITY_CENTRE
        plans.append(
            ProviderPlan(
                kind,
                community.name + KIND_NAME[kind],
                community.centre,
                {"service_area": _area(community.centre, CENTRE_HALF_M)},
                KIND_SERVICES[kind],
            )
        )
    seen: dict[str, int] = {}
    for _ in range(count - len(plans)):
        kind, _, (low, high), _ = rng.choices(KIND_MIX, weights=[m[1] for m in KIND_MIX])[0]
        community = rng.choices(COMMUNITIES, weights=[c.weight for c in COMMUNITIES])[0]
        name = community.name + KIND_NAME[kind]
        seen[name] = seen.get(name, 0) + 1
        plans.append(
            ProviderPlan(
                kind,
                name if seen[name] == 1 else f"{name}（{seen[name]}）",
                _away_from_home_1(partial(_near, rng, community.centre, 1500)),
                {"service_radius_m": rng.randrange(low, high + 1, 500)},
                KIND_SERVICES[kind],
            )
        )
    return plans


def _providers(
    rng: random.Random, plans: list[ProviderPlan], district: District, staff: dict, password: str
) -> list[Provider]:
    """Each registers through its admin (provider 1's is `provider`; the others p0002, ...) and
    is approved by the district administrator."""
    providers = []
    for i, plan in enumerate(plans, start=1):
        admin = staff["provider"] if i == 1 else _user(f"p{i:04d}", Role.PROVIDER_ADMIN, password)
        provider = registrar.provider_register(
            actor=admin,
            district_id=district.pk,
            name=plan.name,
            kind=plan.kind,
            contact_name=_name(rng, rng.choice(["female", "male"])),
            contact_phone=_mobile(rng, "135"),
            base_location=_point(plan.base),
            **plan.reach,
        )
        provider = registrar.provider_status_change(
            provider_id=provider.pk,
            event="approve",
            actor=staff["district"],
            reason="资质审核通过 (demo)",
        )
        providers.append(provider)
    # A price list has no service of its own: the API and the admin write its rows directly.
    ProviderService.objects.bulk_create(
        ProviderService(
            provider=provider,
            service_code=code,
            price=PRICES[code][0],
            unit=PRICES[code][1],
            subsidised=code in SUBSIDISED,
        )
        for provider, plan in zip(providers, plans, strict=True)
        for code in plan.services
    )
    return providers


def _certificates(rng: random.Random, skills: list[str], needs: dict[str, list[str]]) -> list[dict]:
    """What the skills need (the service types say), a health certificate for most and a
    care-worker one for carers: a few expired, a few expiring within the 30-day notice."""
    kinds = {kind for skill in skills for kind in needs[skill]}
    kinds |= {CertificateKind.HEALTH} if rng.random() < 0.8 else set()
    kinds |= {CertificateKind.CARE_WORKER} if set(skills) - {"meal", "medical"} else set()
    today = timezone.localdate()
    found = []
    for kind in sorted(kinds):
        roll = rng.random()
        days = rng.randint(-60, -1) if roll < 0.03 else rng.randint(1, 30) if roll < 0.08 else None
        found.append(
            {
                "kind": kind,
                "level": rng.choice(["初级", "中级", "高级"]) if kind == "care_worker" else "",
                "expires_on": today + timedelta(days=days or rng.randint(60, 900)),
            }
        )
    return found


def _worker(
    rng: random.Random,
    provider: Provider,
    plan: ProviderPlan,
    username: str,
    admin: User,
    needs: dict[str, list[str]],
) -> tuple[Worker, list[dict]]:
    gender = "female" if rng.random() < 0.8 else "male"
    skills = [s for s in plan.services if rng.random() < 0.7] or [rng.choice(plan.services)]
    # worker_create hashes each password it is given (PBKDF2, about half a second each); the
    # demo's users share one hash, set at the end, so it creates them without a usable one.
    worker = registrar.worker_create(
        provider=provider,
        actor=admin,
        username=username,
        password=None,
        full_name=rng.choice(SURNAMES) + rng.choice(WORKER_GIVEN[gender]),
        gender=gender,
        phone=_mobile(rng, "137"),
        languages=["mandarin", "northeastern"],
        skills=skills,
        capacity=2 if rng.random() < 0.3 else 1,
    )
    return worker, _certificates(rng, skills, needs)


def _workers(
    rng: random.Random, count: int, providers: list[Provider], plans: list[ProviderPlan]
) -> list[Worker]:
    """worker1 first, with every skill offered to workers and every certificate, then one for
    each provider, then by kind: a home-care company employs more than a meal point. About 60%
    are on shift, near their base."""
    admins = [p.admins.order_by("pk").get() for p in providers]  # one each, made above
    types = ServiceType.objects.order_by("pk")
    needs = dict(types.values_list("code", "required_certificates"))
    worker1 = registrar.worker_create(
        provider=providers[0],
        actor=admins[0],
        username="worker1",
        password=None,
        languages=["mandarin", "northeastern"],
        skills=list(types.filter(dispatch_mode="workers").values_list("code", flat=True)),
        **WORKER_1,
    )
    today = timezone.localdate()
    for kind in CertificateKind.values:
        registrar.certificate_add(
            worker=worker1,
            actor=admins[0],
            kind=kind,
            number=f"DEMO-{worker1.pk}-{kind}",
            expires_on=today + timedelta(days=400),
        )
    registrar.worker_shift_set(worker=worker1, state=ShiftState.ON, actor=worker1.user)
    registrar.worker_position_record(worker_id=worker1.pk, point=_point(WORKER_1_AT))
    workers = [worker1]
    order = list(range(1, len(providers))) + rng.choices(
        range(len(providers)),
        weights=[STAFF_WEIGHT[p.kind] for p in plans],
        k=max(0, count - len(providers)),
    )
    for n, i in enumerate(order[: count - 1], start=2):
        worker, certificates = _worker(rng, providers[i], plans[i], f"w{n:04d}", admins[i], needs)
        for j, cert in enumerate(certificates):
            registrar.certificate_add(
                worker=worker, actor=admins[i], number=f"DEMO-{worker.pk}-{j}", **cert
            )
        if rng.random() < 0.6:
            registrar.worker_shift_set(worker=worker, state=ShiftState.ON, actor=worker.user)
        where = _away_from_home_1(partial(_near, rng, plans[i].base, 1200))
        registrar.worker_position_record(worker_id=worker.pk, point=_point(where))
        workers.append(worker)
    return workers


# The seed ------------------------------------------------------------------------------------


def _user(username: str, role: str, password: str, **fields) -> User:
    return User.objects.create(username=username, role=role, password=password, **fields)


def _staff(district: District, password: str) -> dict[str, User]:
    staff = {}
    for username, role, _ in DEMO_ACCOUNTS:
        if role == Role.WORKER:  # created with the worker
            continue
        in_district = role in (Role.OPERATOR, Role.SUPERVISOR, Role.DISTRICT_ADMIN)
        staff[username] = _user(
            username,
            role,
            password,
            district=district if in_district else None,
            # Admin site rights come from the role (backend/accounts/backends.py): no superuser.
            is_staff=role in (Role.SUPERVISOR, Role.DISTRICT_ADMIN),
        )
    return staff


def _elders(plans: list[ElderPlan], district: District, staff: dict, tick) -> list[Elder]:
    """Registered by the district administrator, assessed, with contacts (family1 first for
    elder 1), care plan and devices, each through the registry's services."""
    clerk = staff["district"]
    elders = []
    for n, plan in enumerate(plans):
        elder = registry.elder_create(actor=clerk, district_id=district.pk, **plan.fields)
        if plan.assessment:
            registry.assessment_record(elder=elder, actor=clerk, **plan.assessment)
        children: list[tuple[type[Model], dict[str, Any]]] = [
            (
                EmergencyContact,
                {**c, "user": staff["family1"]} if n == 0 and c["priority"] == 1 else c,
            )
            for c in plan.contacts
        ]
        children += [(CareNeed, need) for need in plan.care_needs]
        children += [(AlarmDevice, device) for device in plan.devices]
        for model, fields in children:
            registry.elder_child_add(elder=elder, actor=clerk, model=model, fields=fields)
        elders.append(elder)
        tick()
    return elders


def _first_meal(elder: Elder, family1: User, worker1: Worker) -> None:
    """family1's first meal order, through the real loop: matching must offer it to worker1,
    who serves it and is rated 5. From then on she is elder 1's regular caregiver (the
    continuity term of the ranking)."""
    meal = ServiceType.objects.get(code="meal")
    sr = services.service_request_create(
        elder=elder, service_type=meal, channel=Channel.FAMILY, caller=family1, notes="午餐"
    )
    services.request_match(request_id=sr.pk)
    offer = JobOffer.objects.filter(request=sr).first()
    if offer is None or offer.worker_id != worker1.pk:
        raise RuntimeError("demo: elder 1's first meal was not offered to worker1")
    services.offer_accept(offer_id=offer.pk, user=worker1.user)
    door = _point(offset(HOME_1, 8, -5))
    services.visit_check_in(request_id=sr.pk, user=worker1.user, point=door)
    services.visit_check_out(request_id=sr.pk, user=worker1.user, point=door)
    feedback_record(request_id=sr.pk, user=family1, rating=5, comment="准时送到，饭菜热乎")


def demo_telephony_ensure(district: District) -> None:
    """The demo district's hotline number and its staff's registered phones; also run on a demo
    seeded before the hotline existed (`seed_demo --if-empty`), changing nothing already set."""
    HotlineNumber.objects.get_or_create(
        number=DEMO_HOTLINE, defaults={"district": district, "label": "12349"}
    )
    for username, phone in DEMO_STAFF_PHONES.items():
        User.objects.filter(username=username, district=district, phone="").update(phone=phone)


# One transaction, so that `seed_demo --if-empty` never finds half a demo. It holds the events
# feed back while it runs (backend/core/events.py, COMMIT_SAFE_WATERMARK): deploy/up seeds
# before the platform serves; seeding by hand beside a running platform stalls its feed as long.
@transaction.atomic
def demo_district_seed(
    size: DemoSize = DemoSize(), *, seed: int = DEMO_SEED, progress: bool = True
) -> District:
    rng = random.Random(seed)
    password = make_password(DEMO_PASSWORD)
    district = District.objects.create(
        code=DISTRICT_CODE,
        name="朝阳区 (demo)",
        boundary=MultiPolygon(Polygon.from_bbox(BOX), srid=4326),
    )
    staff = _staff(district, password)
    demo_telephony_ensure(district)
    for user in staff.values():  # staff sign in with a code too: the demo's public secrets
        if user.is_district_staff:
            accounts.user_otp_enrol(user=user, key=demo_otp_key(user.username))
    bar = tqdm(
        total=size.providers + size.workers + size.elders,
        disable=not progress,
        desc="demo district",
        unit="rows",
    )
    plans = provider_plans(rng, size.providers)
    providers = _providers(rng, plans, district, staff, password)
    bar.update(size.providers)
    workers = _workers(rng, size.workers, providers, plans)
    User.objects.filter(worker__in=workers).update(password=password)
    bar.update(size.workers)
    elders = _elders(elder_plans(rng, size.elders), district, staff, lambda: bar.update(1))
    _first_meal(elders[0], staff["family1"], workers[0])
    bar.close()
    return district


@dataclass(frozen=True)
class DemoHands:
    """What people at the keyboard decide with the demo accounts, so that `simulate` leaves it
    to them: worker1's offers and visits, the whole jobs offered to the `provider` account's
    centre, and everything about family1's elder."""

    worker_ids: frozenset[int]
    provider_ids: frozenset[int]
    elder_ids: frozenset[int]


def demo_hands() -> DemoHands:
    def usernames(role: str) -> list[str]:
        return [username for username, r, _ in DEMO_ACCOUNTS if r == role]

    return DemoHands(
        worker_ids=frozenset(
            Worker.objects.filter(user__username__in=usernames(Role.WORKER)).values_list(
                "pk", flat=True
            )
        ),
        provider_ids=frozenset(
            Provider.objects.filter(
                admins__username__in=usernames(Role.PROVIDER_ADMIN)
            ).values_list("pk", flat=True)
        ),
        elder_ids=frozenset(
            EmergencyContact.objects.filter(user__username__in=usernames(Role.FAMILY)).values_list(
                "elder_id", flat=True
            )
        ),
    )
