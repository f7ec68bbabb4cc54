"""Coverage of the 15-minute circle (15分钟养老服务圈): for each service type, the elders of a
district whom no active provider offering it can reach within the minutes given, at the speed
given, from its base and within its approved area.

A provider reaches a home when, all three:
- the home is within `reach_m` of its base (speed times minutes; geography, on the spheroid);
- the home is inside its service area, or, when it has none, within `service_radius_m` of its
  base (what `providers.selectors.providers_serving` calls serving);
- it is active (status `active`: not pending, suspended or blacklisted) and offers the service.
Providers of any district count: a home near the border may be served from the next district.
Only active elders (not moved away, not deceased) are counted.

PostgreSQL does it all. The slow part, a point in a detailed polygon, is done once per provider
and distance (`ProviderReach`, refreshed on read when a provider's base, area or radius has
changed); each home is then one probe of the pieces' GiST index and an exact distance to the
few bases found. Figures are counted per division code (the elder's 12-digit code; blank when
the file has none); the map gets counts per grid cell, never a home.
"""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from elders.models import Elder, ElderStatus

# The pieces are cut from circles this much wider than the distance asked: a buffer is a
# polygon inside its circle (16 segments a quarter: 0.12% short between vertices) drawn in a
# projection whose scale is off by up to 0.1%. Wider pieces only admit a few more candidates;
# the exact distance decides.
PIECE_MARGIN = 1.01
PIECE_MAX_VERTICES = 64


@dataclass(frozen=True)
class Reach:
    """How far a worker gets from a provider's base: `speed_kmh` for `minutes`."""

    speed_kmh: float
    minutes: int

    @property
    def metres(self) -> int:
        return round(self.speed_kmh * 1000 * self.minutes / 60)


def reach_configured() -> Reach:
    """The district's circle: `ANXIN['COVERAGE_SPEED_KMH']` for `ANXIN['COVERAGE_MINUTES']`
    (walking, 5 km/h for 15 minutes: 1,250 m, unless set)."""
    return Reach(
        speed_kmh=float(settings.ANXIN["COVERAGE_SPEED_KMH"]),
        minutes=int(settings.ANXIN["COVERAGE_MINUTES"]),
    )


@dataclass(frozen=True)
class DivisionGaps:
    division_code: str
    elders: int
    in_gap: int


@dataclass(frozen=True)
class ServiceGaps:
    service_code: str
    elders: int
    in_gap: int
    divisions: list[DivisionGaps]


@dataclass(frozen=True)
class Coverage:
    district_id: int
    reach: Reach
    computed_at: datetime
    elders: int
    services: list[ServiceGaps]


@dataclass(frozen=True)
class GridCell:
    """A square of about `cell_m` metres (west, south, east, north in degrees, WGS-84) and how
    many elders in it are in the gap."""

    west: float
    south: float
    east: float
    north: float
    in_gap: int


# The digest of what a provider's pieces are cut from: base, area and radius.
_FINGERPRINT = """md5(
    ST_AsEWKB(p.base_location::geometry)
    || COALESCE(ST_AsEWKB(p.service_area::geometry), '\\x'::bytea)
    || convert_to(p.service_radius_m::text, 'UTF8')
)"""

# The active providers whose pieces at this distance are missing or were cut from another
# base, area or radius; the refresh cuts them again. Each cut also leaves an empty marker
# row, so that a provider whose area the circle misses is not cut again on every read.
_STALE = f"""
WITH current AS (
    SELECT p.id, {_FINGERPRINT} AS fingerprint
    FROM providers_provider p
    WHERE p.status = 'active' AND p.base_location IS NOT NULL
), stale AS (
    SELECT c.id, c.fingerprint FROM current c
    WHERE NOT EXISTS (
        SELECT 1 FROM district_providerreach r
        WHERE r.provider_id = c.id AND r.reach_m = %(reach)s AND r.fingerprint = c.fingerprint
    )
)"""  # noqa: S608 - our fixed fragments; every value is bound

# Whether any provider needs cutting: read without a lock, so that readers queue for the lock
# only when there is work.
_ANY_STALE_SQL = f"{_STALE} SELECT EXISTS (SELECT 1 FROM stale)"  # noqa: S608 - fixed

_REFRESH_SQL = f"""{_STALE}, gone AS (
    DELETE FROM district_providerreach r USING stale s
    WHERE r.provider_id = s.id AND r.reach_m = %(reach)s
)
INSERT INTO district_providerreach (provider_id, reach_m, fingerprint, piece)
SELECT s.id, %(reach)s, s.fingerprint, pieces.piece
FROM stale s
JOIN providers_provider p ON p.id = s.id
CROSS JOIN LATERAL (
    SELECT ST_Subdivide(
        ST_CollectionExtract(
            ST_Intersection(
                ST_Buffer(p.base_location, %(outer)s, 'quad_segs=16')::geometry,
                COALESCE(
                    p.service_area::geometry,
                    ST_Buffer(
                        p.base_location, p.service_radius_m * %(margin)s, 'quad_segs=16'
                    )::geometry
                )
            ),
            3
        ),
        %(vertices)s
    ) AS piece
    UNION ALL
    SELECT ST_SetSRID('GEOMETRYCOLLECTION EMPTY'::geometry, 4326)
) pieces
RETURNING provider_id
"""  # noqa: S608 - our fixed fragments; every value is bound

# The district's active elders whom any provider reaches, each with the services it brings
# them as a bit mask (bit i: the i-th of the codes asked). Each piece finds the homes inside
# it through the elders' geometry index (`elder_location_geometry`); the exact distances on
# the spheroid then decide. (The pieces come first, whole: the planner cannot tell how many
# homes a piece holds, and would otherwise join the rest once per home.) Parameters, in
# order: codes, codes, reach_m, district, status, reach_m.
_COVERED = """
WITH pieces AS MATERIALIZED (
    SELECT r.piece, p.base_location, p.service_area IS NOT NULL AS has_area,
           p.service_radius_m, m.mask
    FROM district_providerreach r
    JOIN providers_provider p ON p.id = r.provider_id AND p.status = 'active'
    JOIN (
        SELECT ps.provider_id,
               bit_or(1::bigint << (array_position(%s::varchar[], ps.service_code::varchar) - 1))
                   AS mask
        FROM providers_providerservice ps
        WHERE ps.service_code = ANY(%s::varchar[])
        GROUP BY ps.provider_id
    ) m ON m.provider_id = r.provider_id
    WHERE r.reach_m = %s
)
SELECT e.id, bit_or(x.mask) AS mask
FROM pieces x
JOIN elders_elder e
  ON e.location::geometry(Point,4326) && x.piece
 AND ST_Intersects(x.piece, e.location::geometry(Point,4326))
WHERE e.district_id = %s AND e.status = %s
  AND ST_DWithin(x.base_location, e.location, %s)
  AND (x.has_area OR ST_DWithin(x.base_location, e.location, x.service_radius_m))
GROUP BY e.id
"""

# Per division code and service (its place in the codes, from 1): the active elders, and
# those without the service's bit. Parameters: those of _COVERED, district, status, count.
_GAPS_SQL = f"""
WITH covered AS MATERIALIZED ({_COVERED}),
grouped AS (
    SELECT e.division_code, COALESCE(c.mask, 0) AS mask, count(*) AS n
    FROM elders_elder e LEFT JOIN covered c ON c.id = e.id
    WHERE e.district_id = %s AND e.status = %s
    GROUP BY 1, 2
)
SELECT s.i, g.division_code, sum(g.n)::bigint,
       COALESCE(sum(g.n) FILTER (WHERE g.mask & (1::bigint << (s.i - 1)) = 0), 0)::bigint
FROM grouped g CROSS JOIN generate_series(1, %s) AS s(i)
GROUP BY s.i, g.division_code
ORDER BY s.i, g.division_code
"""  # noqa: S608 - our fixed fragments; every value is bound

# Each elder in the gap counted in the cell holding the home: columns and rows of a grid in
# degrees, `dx` by `dy`, anchored at 0°, 0° (the same cells whatever the elders).
# Parameters: those of _COVERED, dx, dy, district, status.
_GRID_SQL = f"""
WITH covered AS MATERIALIZED ({_COVERED})
SELECT floor(ST_X(e.location::geometry) / %s)::bigint AS col,
       floor(ST_Y(e.location::geometry) / %s)::bigint AS row,
       count(*)
FROM elders_elder e LEFT JOIN covered c ON c.id = e.id
WHERE c.id IS NULL AND e.district_id = %s AND e.status = %s
GROUP BY col, row
ORDER BY row, col
"""  # noqa: S608 - our fixed fragments; every value is bound

# A bigint holds one bit per service.
MAX_CODES_AT_ONCE = 63


@contextmanager
def without_jit() -> Iterator[None]:
    """PostGIS's functions are costed so high that PostgreSQL compiles these plans (JIT), which
    takes longer than running them: off, for the transaction only."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield


def _covered_params(*, codes: list[str], reach: Reach, district_id: int) -> list[Any]:
    return [codes, codes, reach.metres, district_id, ElderStatus.ACTIVE, reach.metres]


def provider_reach_refresh(*, reach_m: int) -> int:
    """Cut the pieces of every active provider whose pieces at `reach_m` are missing or stale;
    how many providers were cut. Readers of coverage call it first; it serialises on an
    advisory lock (only when there is something to cut) so that two readers do not cut the
    same provider twice."""
    with connection.cursor() as cursor:
        cursor.execute(_ANY_STALE_SQL, {"reach": reach_m})
        (stale,) = cursor.fetchone() or (False,)
    if not stale:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('district.provider_reach'))")
        cursor.execute(
            _REFRESH_SQL,
            {
                "reach": reach_m,
                "outer": reach_m * PIECE_MARGIN,
                "margin": PIECE_MARGIN,
                "vertices": PIECE_MAX_VERTICES,
            },
        )
        return len({row[0] for row in cursor.fetchall()})


def coverage_gaps(
    *, district_id: int, service_codes: list[str], reach: Reach, now: datetime | None = None
) -> Coverage:
    """The district's elders in the gap of each service, per division code: one pass over the
    district's elders for up to 63 services. The caller checks who may see them."""
    provider_reach_refresh(reach_m=reach.metres)
    by_service: dict[str, list[DivisionGaps]] = {code: [] for code in service_codes}
    for first in range(0, len(service_codes), MAX_CODES_AT_ONCE):
        codes = service_codes[first : first + MAX_CODES_AT_ONCE]
        params = _covered_params(codes=codes, reach=reach, district_id=district_id)
        with without_jit(), connection.cursor() as cursor:
            cursor.execute(_GAPS_SQL, [*params, district_id, ElderStatus.ACTIVE, len(codes)])
            for place, division, elders, in_gap in cursor.fetchall():
                by_service[codes[place - 1]].append(DivisionGaps(division, elders, in_gap))
    services = [
        ServiceGaps(
            service_code=code,
            elders=sum(d.elders for d in divisions),
            in_gap=sum(d.in_gap for d in divisions),
            divisions=divisions,
        )
        for code, divisions in by_service.items()
    ]
    return Coverage(
        district_id=district_id,
        reach=reach,
        computed_at=now or timezone.now(),
        elders=services[0].elders if services else 0,
        services=services,
    )


def elders_in_gap(
    elders: QuerySet[Elder], *, district_id: int, service_code: str, reach: Reach
) -> QuerySet[Elder]:
    """Of `elders` (already scoped to what the caller may see, within the district), the
    active ones no provider offering the service reaches. Evaluate it `without_jit()`."""
    provider_reach_refresh(reach_m=reach.metres)
    covered = RawSQL(  # noqa: S611 - our fixed fragments; every value is bound
        f"SELECT id FROM ({_COVERED}) covered",  # noqa: S608 - bound values only
        _covered_params(codes=[service_code], reach=reach, district_id=district_id),
    )
    return elders.filter(status=ElderStatus.ACTIVE).exclude(pk__in=covered)


def grid_steps(cell_m: int, latitude: float) -> tuple[float, float]:
    """The degrees of longitude and latitude of a cell about `cell_m` metres square at this
    latitude (rounded to a whole degree, so that a district's cells stay put)."""
    dy = cell_m / 111_320
    dx = dy / max(math.cos(math.radians(round(latitude))), 0.01)
    return dx, dy


def coverage_grid(
    *, district_id: int, service_code: str, reach: Reach, cell_m: int, latitude: float
) -> list[GridCell]:
    """The district's elders in the gap of the service, counted per grid cell of about
    `cell_m` metres at `latitude`; only cells holding any. The caller checks who may see
    them, and keeps `cell_m` above the minimum."""
    provider_reach_refresh(reach_m=reach.metres)
    dx, dy = grid_steps(cell_m, latitude)
    params = _covered_params(codes=[service_code], reach=reach, district_id=district_id)
    with without_jit(), connection.cursor() as cursor:
        cursor.execute(_GRID_SQL, [*params, dx, dy, district_id, ElderStatus.ACTIVE])
        rows = cursor.fetchall()
    return [
        GridCell(
            west=col * dx, south=row * dy, east=(col + 1) * dx, north=(row + 1) * dy, in_gap=count
        )
        for col, row, count in rows
    ]


def district_latitude(*, district_id: int) -> float | None:
    """Where the district's grid is drawn: the mean latitude of its active elders' homes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT avg(ST_Y(location::geometry)) FROM elders_elder "
            "WHERE district_id = %s AND status = %s",
            [district_id, ElderStatus.ACTIVE],
        )
        (latitude,) = cursor.fetchone() or (None,)
    return float(latitude) if latitude is not None else None
