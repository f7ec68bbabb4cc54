from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.core.idempotency import idempotent
from backend.core.permissions import require_role, signed_in
from elders.selectors import elders_visible_to
from providers.selectors import providers_visible_to
from settlement import exports, selectors, services
from settlement.models import Statement
from settlement.roles import ADMIN, ENTITLEMENT_READERS, STATEMENT_READERS

from . import serializers as s


class ElderEntitlementsView(APIView):
    """An elder's monthly entitlements per payer, every one ever set (the history)."""

    @extend_schema(responses=s.EntitlementOutput(many=True))
    def get(self, request, pk: int):
        user = signed_in(request)
        require_role(user, ENTITLEMENT_READERS, _("read entitlements"))
        elder = get_object_or_404(elders_visible_to(user), pk=pk)
        return Response(
            s.EntitlementOutput(selectors.entitlements_of(elder_id=elder.pk), many=True).data
        )

    @extend_schema(request=s.EntitlementInput, responses={201: s.EntitlementOutput})
    @idempotent
    def post(self, request, pk: int):
        user = signed_in(request)
        require_role(user, ADMIN, _("set entitlements"))
        elder = get_object_or_404(elders_visible_to(user), pk=pk)
        data = s.EntitlementInput(data=request.data)
        data.is_valid(raise_exception=True)
        entitlement = services.entitlement_set(actor=user, elder=elder, **data.validated_data)
        return Response(s.EntitlementOutput(entitlement).data, status=status.HTTP_201_CREATED)


class ProviderStatementsView(APIView):
    """A provider's issued monthly statements; a district admin issues the next."""

    @extend_schema(responses=s.StatementOutput(many=True))
    def get(self, request, pk: int):
        user = signed_in(request)
        require_role(user, STATEMENT_READERS, _("read statements"))
        provider = get_object_or_404(providers_visible_to(user), pk=pk)
        statements = selectors.statements_visible_to(user).filter(provider=provider)
        return Response(s.StatementOutput(statements, many=True).data)

    @extend_schema(request=s.StatementInput, responses={201: s.StatementOutput})
    @idempotent
    def post(self, request, pk: int):
        user = signed_in(request)
        require_role(user, ADMIN, _("issue statements"))
        provider = get_object_or_404(providers_visible_to(user), pk=pk)
        data = s.StatementInput(data=request.data)
        data.is_valid(raise_exception=True)
        statement = services.statement_issue(
            actor=user, provider=provider, month=data.validated_data["month"]
        )
        return Response(s.StatementOutput(statement).data, status=status.HTTP_201_CREATED)


def _statement(user: User, pk: int) -> Statement:
    require_role(user, STATEMENT_READERS, _("read statements"))
    return get_object_or_404(selectors.statements_visible_to(user), pk=pk)


class StatementDetailView(APIView):
    """A statement's totals, and the month's visits held back now (open or rejected exceptions,
    no price at check-in): they are settled on a later statement once verified."""

    @extend_schema(responses=s.StatementOutput)
    def get(self, request, pk: int):
        statement = _statement(signed_in(request), pk)
        held = selectors.visits_held(provider_id=statement.provider_id, month=statement.month)
        return Response(
            {
                **s.StatementOutput(statement).data,
                "held_visits": s.HeldVisitOutput(held[:500], many=True).data,
            }
        )


def _export(request, pk: int, what: str) -> tuple[Statement, list]:
    user = signed_in(request)
    statement = _statement(user, pk)
    elder_ids = set(statement.lines.values_list("elder_id", flat=True).distinct())
    names = selectors.elder_name_for(user=user, elder_ids=elder_ids)
    services.statement_export_logged(user=user, statement=statement, elder_ids=elder_ids, what=what)
    return statement, list(exports.statement_rows(statement, names))


def _filename(statement: Statement, ext: str) -> str:
    return f'attachment; filename="statement-{statement.provider_id}-{statement.month:%Y-%m}.{ext}"'


class StatementCsvView(APIView):
    """The statement as CSV (UTF-8 with a BOM, for Excel); the read is access-logged."""

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, pk: int):
        statement, rows = _export(request, pk, "csv")
        response = StreamingHttpResponse(
            exports.statement_csv(iter(rows)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = _filename(statement, "csv")
        return response


class StatementXlsxView(APIView):
    """The statement as an Excel workbook; the read is access-logged."""

    @extend_schema(
        responses={
            (
                200,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ): OpenApiTypes.BINARY
        }
    )
    def get(self, request, pk: int):
        statement, rows = _export(request, pk, "xlsx")
        body = exports.statement_xlsx(iter(rows), title=f"{statement.month:%Y-%m}")
        response = HttpResponse(
            body,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = _filename(statement, "xlsx")
        return response
