"""Coverage of the 15-minute circle at scale: prints how long each read takes.

Seeds a benchmark district (code 229996000000) of `--elders` homes over a 30 x 30 km city and
`--providers` providers based in it (a tenth suspended, each offering 60-90 % of the service
types): half with a detailed service area (a ragged ring of 200 vertices, 2-5 km across), half
serving a radius of 2-4 km around the base. Then times, for every service type at once, the
counts per division code; the first page of one service's gap list with its count; the map's
grid; and the pieces cut from scratch and after one provider moves. `--keep` leaves the
district for another run (which then reuses it); `--clear` only removes it.
"""

import math
import random
import time
from collections.abc import Callable

from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from backend.accounts.models import District
from dispatch.models import ServiceType
from district.coverage import (
    coverage_gaps,
    coverage_grid,
    district_latitude,
    elders_in_gap,
    provider_reach_refresh,
    reach_configured,
    without_jit,
)
from district.models import ProviderReach
from elders.models import Elder
from providers.models import Provider, ProviderService

CODE = "229996000000"
CENTRE = (125.32, 43.86)
HALF_DEG = (0.187, 0.135)  # about 15 km each way at this latitude
DIVISIONS = [f"2299960{n:02d}{m:03d}" for n in range(1, 13) for m in range(1, 9)]


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


@transaction.atomic
def clear() -> None:
    district = District.objects.filter(code=CODE).first()
    if district is None:
        return
    providers = Provider.objects.filter(district=district)
    ProviderReach.objects.filter(provider__in=providers).delete()
    ProviderService.objects.filter(provider__in=providers).delete()
    providers.delete()
    Elder.objects.filter(district=district).delete()
    district.delete()


def seed(*, elders: int, providers: int, rng: random.Random, say: Callable[[str], None]) -> None:
    district = District.objects.create(code=CODE, name="coverage benchmark")
    codes = list(ServiceType.objects.values_list("code", flat=True))
    made = []
    for i in range(providers):
        base = _point(rng)
        detailed = i % 2 == 0
        made.append(
            Provider(
                district=district,
                name=f"bench provider {i}",
                base_location=base,
                service_area=_ragged_area(base, rng) if detailed else None,
                service_radius_m=rng.choice([2000, 3000, 4000]),
                status="suspended" if i % 10 == 9 else "active",
            )
        )
    Provider.objects.bulk_create(made)
    ProviderService.objects.bulk_create(
        ProviderService(provider=p, service_code=code, price=20, unit="visit")
        for p in made
        for code in codes
        if rng.random() < rng.uniform(0.6, 0.9)
    )
    batch = 10_000
    for start in range(0, elders, batch):
        Elder.objects.bulk_create(
            Elder(
                district=district,
                full_name="bench",
                gender="female",
                address="bench",
                location=_point(rng),
                division_code=rng.choice(DIVISIONS),
            )
            for _ in range(min(batch, elders - start))
        )
        say(f"  seeded {min(start + batch, elders)} elders")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE elders_elder")
        cursor.execute("ANALYZE providers_provider")
        cursor.execute("ANALYZE providers_providerservice")


def _timed(what: str, say: Callable[[str], None], work: Callable[[], object]) -> object:
    started = time.perf_counter()
    result = work()
    say(f"{what}: {time.perf_counter() - started:.3f} s")
    return result


class Command(BaseCommand):
    help = "Time the coverage of the 15-minute circle on a synthetic district."

    def add_arguments(self, parser):
        parser.add_argument("--elders", type=int, default=100_000)
        parser.add_argument("--providers", type=int, default=300)
        parser.add_argument("--seed", type=int, default=16)
        parser.add_argument("--keep", action="store_true", help="Leave the district for a rerun")
        parser.add_argument("--clear", action="store_true", help="Only remove the district")

    def handle(self, *args, **options):
        say = self.stdout.write
        if options["clear"]:
            clear()
            say("cleared")
            return
        district = District.objects.filter(code=CODE).first()
        if district is None or not Elder.objects.filter(district=district).exists():
            clear()
            _timed(
                "seed",
                say,
                lambda: seed(
                    elders=options["elders"],
                    providers=options["providers"],
                    rng=random.Random(options["seed"]),
                    say=say,
                ),
            )
            district = District.objects.get(code=CODE)
        try:
            self._run(district, say)
        finally:
            if not options["keep"]:
                clear()

    def _run(self, district: District, say: Callable[[str], None]) -> None:
        reach = reach_configured()
        codes = list(ServiceType.objects.order_by("code").values_list("code", flat=True))
        elders = Elder.objects.filter(district=district).count()
        providers = Provider.objects.filter(district=district).count()
        say(
            f"district {CODE}: {elders} elders, {providers} providers, {len(codes)} service "
            f"types; circle {reach.minutes} min at {reach.speed_kmh:g} km/h = {reach.metres} m"
        )
        ProviderReach.objects.filter(reach_m=reach.metres).delete()
        cut = _timed(
            "pieces cut from scratch", say, lambda: provider_reach_refresh(reach_m=reach.metres)
        )
        say(f"  {cut} providers cut, {ProviderReach.objects.count()} pieces")
        coverage = _timed(
            "counts per division, every service type (warm pieces)",
            say,
            lambda: coverage_gaps(district_id=district.pk, service_codes=codes, reach=reach),
        )
        coverage = _timed(
            "  again",
            say,
            lambda: coverage_gaps(district_id=district.pk, service_codes=codes, reach=reach),
        )
        for service in coverage.services:  # type: ignore[attr-defined]
            say(f"  {service.service_code}: {service.in_gap} of {service.elders} in the gap")
        meal = elders_in_gap(
            Elder.objects.filter(district=district),
            district_id=district.pk,
            service_code="meal",
            reach=reach,
        ).order_by("id")

        def page() -> list:
            with without_jit():
                return [meal.count(), list(meal[:50])]

        _timed("gap list of meal: count and first page of 50", say, page)
        latitude = district_latitude(district_id=district.pk) or CENTRE[1]
        cells = _timed(
            "grid of meal, 500 m cells",
            say,
            lambda: coverage_grid(
                district_id=district.pk,
                service_code="meal",
                reach=reach,
                cell_m=500,
                latitude=latitude,
            ),
        )
        say(f"  {len(cells)} cells")  # type: ignore[arg-type]
        moved = Provider.objects.filter(district=district, status="active").first()
        if moved is not None:
            Provider.objects.filter(pk=moved.pk).update(service_radius_m=moved.service_radius_m + 1)
            _timed(
                "one provider changed: counts again (its pieces recut)",
                say,
                lambda: coverage_gaps(district_id=district.pk, service_codes=codes, reach=reach),
            )
