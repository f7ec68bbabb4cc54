"""Coverage of the 15-minute circle for the caller's district (docs/district.md)."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.core.permissions import require_role, signed_in
from dispatch.models import ServiceType
from district.access import OVERSIGHT_ROLES
from district.coverage import (
    coverage_gaps,
    coverage_grid,
    district_latitude,
    elders_in_gap,
    reach_configured,
    without_jit,
)
from elders.api.filters import ElderFilter
from elders.api.serializers import ElderListOutput
from elders.models import Elder
from elders.selectors import elders_visible_to

from . import serializers as s


def _overseer(request: Request) -> User:
    user = signed_in(request)
    require_role(user, OVERSIGHT_ROLES, _("see the district's coverage"))
    return user


def coverage_for(user: User, query: Mapping[str, Any]) -> dict:
    """The API's answer to `query` (the request's parameters) for `user`, who may see the
    district's coverage: the view's, and the console's pages'. Raises the serializer's
    ValidationError on bad input."""
    asked = s.CoverageInput(data=query)
    asked.is_valid(raise_exception=True)
    service = asked.validated_data.get("service")
    codes = (
        [service.code]
        if service
        else list(ServiceType.objects.order_by("code").values_list("code", flat=True))
    )
    coverage = coverage_gaps(
        district_id=user.staff_district_id, service_codes=codes, reach=reach_configured()
    )
    return s.CoverageOutput(coverage).data


def coverage_gap_elders_for(user: User, query: Mapping[str, Any]) -> QuerySet[Elder]:
    """The elders `user` may see in the gap of the service `query` names, by id (the gap
    list's, and the console's). Evaluate it `without_jit()`."""
    asked = s.GapsInput(data=query)
    asked.is_valid(raise_exception=True)
    return elders_in_gap(
        elders_visible_to(user),
        district_id=user.staff_district_id,
        service_code=asked.validated_data["service"].code,
        reach=reach_configured(),
    ).order_by("id")


def coverage_grid_for(user: User, query: Mapping[str, Any]) -> dict:
    """The grid's GeoJSON for `query` (service, cell_m) in `user`'s district: cells only."""
    asked = s.GridInput(data=query)
    asked.is_valid(raise_exception=True)
    service = asked.validated_data["service"]
    cell_m = asked.validated_data.get("cell_m") or settings.ANXIN["COVERAGE_CELL_M"]
    reach = reach_configured()
    district_id = user.staff_district_id
    latitude = district_latitude(district_id=district_id)
    cells = (
        []
        if latitude is None
        else coverage_grid(
            district_id=district_id,
            service_code=service.code,
            reach=reach,
            cell_m=cell_m,
            latitude=latitude,
        )
    )
    return {
        "type": "FeatureCollection",
        "service": service.code,
        "speed_kmh": reach.speed_kmh,
        "minutes": reach.minutes,
        "reach_m": reach.metres,
        "cell_m": cell_m,
        "features": [
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [c.west, c.south],
                            [c.east, c.south],
                            [c.east, c.north],
                            [c.west, c.north],
                            [c.west, c.south],
                        ]
                    ],
                },
                "properties": {"in_gap": c.in_gap},
            }
            for c in cells
        ],
    }


class CoverageView(APIView):
    """Per service type, the district's active elders whom no active provider offering it
    reaches within the circle (speed and minutes stated in the answer), per division code."""

    @extend_schema(parameters=[s.CoverageInput], responses=s.CoverageOutput)
    def get(self, request: Request) -> Response:
        return Response(coverage_for(_overseer(request), request.query_params))


class CoverageGapsView(ListAPIView):
    """The elders of the caller's district in the gap of one service, as the elder list shows
    them (same fields and filters), by id."""

    serializer_class = ElderListOutput
    filterset_class = ElderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Elder.objects.none()
        return coverage_gap_elders_for(_overseer(self.request), self.request.query_params)

    @extend_schema(parameters=[s.GapsInput])
    def get(self, request, *args, **kwargs):
        with without_jit():
            return super().get(request, *args, **kwargs)


class CoverageGridView(APIView):
    """For the map: the district's elders in the gap of one service counted per grid cell,
    a GeoJSON FeatureCollection of squares (WGS-84) with `in_gap` each; only cells holding
    any, never a home. The circle and the cell size are stated beside the features."""

    @extend_schema(
        parameters=[s.GridInput],
        responses=OpenApiResponse(description="GeoJSON FeatureCollection"),
    )
    def get(self, request: Request) -> Response:
        return Response(coverage_grid_for(_overseer(request), request.query_params))
