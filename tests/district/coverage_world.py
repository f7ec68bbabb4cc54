"""The small district of tests/district/test_coverage.py (its docstring draws it), shared with
the console's coverage page's tests: homes at exact geodesic distances from providers' bases."""

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point, Polygon
from django.db import connection

from elders.models import ElderStatus
from providers.models import ProviderStatus
from tests import factories as f

B = f.HOME
DIVISION_1 = "220104001001"
DIVISION_2 = "220104002002"


def projected(origin: tuple[float, float], metres: float, azimuth_deg: float) -> Point:
    """The point `metres` from `origin` on the spheroid, `azimuth_deg` clockwise from north."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_AsEWKT(ST_Project(ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography,"
            " %s, radians(%s))::geometry)",
            [origin[0], origin[1], metres, azimuth_deg],
        )
        (ewkt,) = cursor.fetchone()
    return GEOSGeometry(ewkt)


def build_world() -> dict:
    """The district of tests/district/test_coverage.py's docstring: its districts, providers
    (P1 to P5), elders (E1 to E7) and an administrator of D."""
    d = f.DistrictFactory(code="220104000000", name="朝阳区")
    d2 = f.DistrictFactory(code="220105000000", name="南关区")
    c_point = projected(B, 5000, 90)
    c = (c_point.x, c_point.y)
    south_of_c = Polygon.from_bbox((c[0] - 0.01, c[1] - 0.01, c[0] + 0.01, c[1] - 0.001))
    providers = {
        "P1": f.ProviderFactory(district=d, service_radius_m=3000, services=["meal"]),
        "P2": f.ProviderFactory(
            district=d,
            base_location=c_point,
            service_area=MultiPolygon(south_of_c, srid=4326),
            services=["meal"],
        ),
        "P5": f.ProviderFactory(district=d, service_radius_m=1000, services=["cleaning"]),
        "P3": f.ProviderFactory(district=d, status=ProviderStatus.SUSPENDED, services=["bathing"]),
        "P4": f.ProviderFactory(
            district=d, status=ProviderStatus.BLACKLISTED, services=["bathing"]
        ),
    }

    def elder(name, where, division, district=d, **kwargs):
        return f.ElderFactory(
            district=district, full_name=name, location=where, division_code=division, **kwargs
        )

    elders = {
        "E1": elder("E1", projected(B, 1249, 0), DIVISION_1),
        "E2": elder("E2", projected(B, 1251, 0), DIVISION_1),
        "E5": elder("E5", f.point(*B), DIVISION_1),
        "E3": elder("E3", projected(c, 500, 0), DIVISION_2),
        "E4": elder("E4", projected(c, 500, 180), DIVISION_2),
        "E6": elder("E6", f.point(*B), DIVISION_1, status=ElderStatus.MOVED),
        "E7": elder("E7", f.point(*B), "220105001001", district=d2),
    }
    admin = f.UserFactory(role="district_admin", district=d)
    return {"district": d, "district2": d2, "admin": admin, **providers, **elders}
