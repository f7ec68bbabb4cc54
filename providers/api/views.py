from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import District, Role
from backend.core.geo import PositionSerializer
from backend.core.idempotency import idempotent
from backend.core.permissions import require_role, signed_in
from providers import services
from providers.models import Appeal, ChangeState, Provider, ProviderChange, Sanction
from providers.selectors import (
    provider_changes_visible_to,
    providers_visible_to,
    worker_for_user,
    workers_visible_to,
)

from . import serializers as s
from .filters import AppealFilter, ProviderChangeFilter, ProviderFilter

ADMIN = {Role.DISTRICT_ADMIN}


def _provider(request, pk: int) -> Provider:
    return get_object_or_404(providers_visible_to(request.user), pk=pk)


class ProviderListView(ListAPIView):
    """Providers the caller may see, filtered by ProviderFilter (`near` orders nearest first)."""

    serializer_class = s.ProviderOutput
    filterset_class = ProviderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Provider.objects.none()
        return providers_visible_to(signed_in(self.request)).order_by("pk")

    @extend_schema(request=s.ProviderInput, responses={201: s.ProviderOutput})
    @idempotent
    def post(self, request):
        require_role(
            request.user, {Role.PROVIDER_ADMIN, Role.DISTRICT_ADMIN}, _("register providers")
        )
        data = s.ProviderInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.pop("reason", None)
        district_id = request.user.district_id
        if request.user.role == Role.PROVIDER_ADMIN:
            code = request.data.get("district", "")
            district = District.objects.filter(code=code).first()
            if district is None:
                raise serializers.ValidationError({"district": [_("no district with this code")]})
            district_id = district.pk
        provider = services.provider_register(actor=request.user, district_id=district_id, **values)
        return Response(s.ProviderOutput(provider).data, status=status.HTTP_201_CREATED)


class ProviderFeaturesView(ListAPIView):
    """Providers' service areas (or their bases, with `service_radius_m`) as a GeoJSON
    FeatureCollection (in `results`), for maps."""

    serializer_class = s.ProviderFeature
    filterset_class = ProviderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Provider.objects.none()
        return providers_visible_to(signed_in(self.request)).order_by("pk")


class ProviderDetailView(APIView):
    @extend_schema(responses=s.ProviderOutput)
    def get(self, request, pk: int):
        return Response(s.ProviderOutput(_provider(request, pk)).data)

    @extend_schema(
        request=s.ProviderInput,
        responses={200: s.ProviderOutput, 202: s.ProviderChangeOutput},
        description="Where it serves (area, base, radius) and the credit code change at once "
        "for a district administrator of its district; for the provider's admin they become "
        "a change request (202, the change) that one approves. Other fields change at once.",
    )
    @idempotent
    def patch(self, request, pk: int):
        provider = _provider(request, pk)
        require_role(
            request.user, {Role.PROVIDER_ADMIN, Role.DISTRICT_ADMIN}, _("change providers")
        )
        data = s.ProviderInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        provider, change = services.provider_update(
            provider=provider, actor=request.user, **data.validated_data
        )
        if change is not None and change.state == ChangeState.PENDING:
            return Response(s.ProviderChangeOutput(change).data, status=status.HTTP_202_ACCEPTED)
        return Response(s.ProviderOutput(provider).data)


class ProviderStatusView(APIView):
    """Approve, suspend, reinstate or blacklist: district administrators, with a reason."""

    @extend_schema(request=s.StatusChangeInput, responses=s.ProviderOutput)
    @idempotent
    def post(self, request, pk: int):
        provider = _provider(request, pk)
        require_role(request.user, ADMIN, _("change a provider's status"))
        data = s.StatusChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        provider = services.provider_status_change(
            provider_id=provider.pk,
            event=data.validated_data["event"],
            actor=request.user,
            reason=data.validated_data["reason"],
            suspended_until=data.validated_data.get("suspended_until"),
        )
        return Response(s.ProviderOutput(provider).data)


class ProviderServicesView(APIView):
    @extend_schema(responses=s.ServiceSerializer(many=True))
    def get(self, request, pk: int):
        provider = _provider(request, pk)
        return Response(
            s.ServiceSerializer(provider.services.order_by("service_code"), many=True).data
        )

    @extend_schema(
        request=s.ServiceSerializer,
        responses={200: s.ServiceSerializer, 201: s.ServiceSerializer, 202: s.ProviderChangeOutput},
        description="A district administrator of its district sets a service's price, unit and "
        "subsidy flag at once (201; 200 when nothing changed); the provider's admin asks for it "
        "(202, the change request).",
    )
    @idempotent
    def post(self, request, pk: int):
        provider = _provider(request, pk)
        require_role(request.user, {Role.PROVIDER_ADMIN, Role.DISTRICT_ADMIN}, _("set services"))
        data = s.ServiceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = services.provider_service_set(
            provider=provider, actor=request.user, **data.validated_data
        )
        if change is not None and change.state == ChangeState.PENDING:
            return Response(s.ProviderChangeOutput(change).data, status=status.HTTP_202_ACCEPTED)
        service = provider.services.get(service_code=data.validated_data["service_code"])
        return Response(
            s.ServiceSerializer(service).data,
            status=status.HTTP_201_CREATED if change else status.HTTP_200_OK,
        )


class ProviderWorkersView(APIView):
    @extend_schema(responses=s.WorkerOutput(many=True))
    def get(self, request, pk: int):
        provider = _provider(request, pk)
        workers = workers_visible_to(request.user).filter(provider=provider).order_by("pk")
        return Response(s.WorkerOutput(workers, many=True).data)

    @extend_schema(request=s.WorkerInput, responses={201: s.WorkerOutput})
    @idempotent
    def post(self, request, pk: int):
        provider = _provider(request, pk)
        require_role(request.user, {Role.PROVIDER_ADMIN}, _("add workers"))
        data = s.WorkerInput(data=request.data)
        data.is_valid(raise_exception=True)
        worker = services.worker_create(
            provider=provider, actor=request.user, **data.validated_data
        )
        return Response(s.WorkerOutput(worker).data, status=status.HTTP_201_CREATED)


class WorkerDetailView(APIView):
    @extend_schema(responses=s.WorkerOutput)
    def get(self, request, pk: int):
        return Response(
            s.WorkerOutput(get_object_or_404(workers_visible_to(request.user), pk=pk)).data
        )

    @extend_schema(request=s.WorkerUpdate, responses=s.WorkerOutput)
    @idempotent
    def patch(self, request, pk: int):
        worker = get_object_or_404(workers_visible_to(request.user), pk=pk)
        require_role(request.user, {Role.PROVIDER_ADMIN}, _("change workers"))
        data = s.WorkerUpdate(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        worker = services.worker_update(
            worker_id=worker.pk, actor=request.user, **data.validated_data
        )
        return Response(s.WorkerOutput(worker).data)


class WorkerCertificatesView(APIView):
    @extend_schema(responses=s.CertificateSerializer(many=True))
    def get(self, request, pk: int):
        worker = get_object_or_404(workers_visible_to(request.user), pk=pk)
        return Response(
            s.CertificateSerializer(worker.certificates.order_by("kind"), many=True).data
        )

    @extend_schema(request=s.CertificateSerializer, responses={201: s.CertificateSerializer})
    @idempotent
    def post(self, request, pk: int):
        worker = get_object_or_404(workers_visible_to(request.user), pk=pk)
        require_role(request.user, {Role.PROVIDER_ADMIN}, _("add certificates"))
        data = s.CertificateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cert = services.certificate_add(worker=worker, actor=request.user, **data.validated_data)
        return Response(s.CertificateSerializer(cert).data, status=status.HTTP_201_CREATED)


class ProviderCreditView(APIView):
    """The credit record: score and events. District admins add praise or upheld complaints
    by hand; dispatch adds verified visits and late arrivals."""

    @extend_schema(responses=s.CreditEventSerializer(many=True))
    def get(self, request, pk: int):
        provider = _provider(request, pk)
        events = provider.credit_events.order_by("-at")[:200]
        return Response(
            {
                "credit_score": provider.credit_score,
                "events": s.CreditEventSerializer(events, many=True).data,
            }
        )

    @extend_schema(request=s.ManualCreditInput, responses={201: s.CreditEventSerializer})
    @idempotent
    def post(self, request, pk: int):
        provider = _provider(request, pk)
        require_role(request.user, ADMIN, _("record credit events"))
        data = s.ManualCreditInput(data=request.data)
        data.is_valid(raise_exception=True)
        worker_id = data.validated_data.get("worker")
        if worker_id and not provider.workers.filter(pk=worker_id).exists():
            raise serializers.ValidationError({"worker": [_("not a worker of this provider")]})
        event = services.credit_event_record(
            provider_id=provider.pk,
            worker_id=worker_id,
            kind=data.validated_data["kind"],
            reference=data.validated_data["reference"],
            note=data.validated_data["note"],
        )
        if event is None:
            raise serializers.ValidationError({"reference": [_("already recorded")]})
        return Response(s.CreditEventSerializer(event).data, status=status.HTTP_201_CREATED)


class ProviderSanctionsView(APIView):
    @extend_schema(responses=s.SanctionOutput(many=True))
    def get(self, request, pk: int):
        provider = _provider(request, pk)
        return Response(
            s.SanctionOutput(provider.sanctions.order_by("-decided_at"), many=True).data
        )

    @extend_schema(request=s.SanctionInput, responses={201: s.SanctionOutput})
    @idempotent
    def post(self, request, pk: int):
        provider = _provider(request, pk)
        require_role(request.user, ADMIN, _("sanction providers"))
        data = s.SanctionInput(data=request.data)
        data.is_valid(raise_exception=True)
        sanction = services.sanction_impose(
            provider_id=provider.pk, actor=request.user, **data.validated_data
        )
        return Response(s.SanctionOutput(sanction).data, status=status.HTTP_201_CREATED)


class SanctionAppealView(APIView):
    """A provider's admin appeals a sanction of their own organisation."""

    @extend_schema(request=s.AppealInput, responses={201: s.AppealOutput})
    @idempotent
    def post(self, request, pk: int):
        require_role(request.user, {Role.PROVIDER_ADMIN}, _("appeal sanctions"))
        sanction = get_object_or_404(
            Sanction.objects.select_related("provider"), pk=pk, provider__admins=request.user
        )
        data = s.AppealInput(data=request.data)
        data.is_valid(raise_exception=True)
        appeal = services.appeal_file(
            sanction=sanction, actor=request.user, grounds=data.validated_data["grounds"]
        )
        return Response(s.AppealOutput(appeal).data, status=status.HTTP_201_CREATED)


class AppealListView(ListAPIView):
    """Appeals of the caller's district (district admins), or of their organisation."""

    serializer_class = s.AppealOutput
    filterset_class = AppealFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Appeal.objects.none()
        visible = providers_visible_to(signed_in(self.request))
        return Appeal.objects.filter(sanction__provider__in=visible).order_by("-filed_at")


class AppealDecideView(APIView):
    @extend_schema(request=s.AppealDecisionInput, responses=s.AppealOutput)
    @idempotent
    def post(self, request, pk: int):
        require_role(request.user, ADMIN, _("decide appeals"))
        appeal = get_object_or_404(
            Appeal, pk=pk, sanction__provider__in=providers_visible_to(request.user)
        )
        data = s.AppealDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        appeal = services.appeal_decide(
            appeal_id=appeal.pk,
            actor=request.user,
            grant=data.validated_data["grant"],
            note=data.validated_data["note"],
        )
        return Response(s.AppealOutput(appeal).data)


class ProviderChangeListView(ListAPIView):
    """Change requests of the providers the caller may see (`?state=pending`: the district's
    queue), newest first: who asked, what from what to what, who decided, when and why."""

    serializer_class = s.ProviderChangeOutput
    filterset_class = ProviderChangeFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProviderChange.objects.none()
        return provider_changes_visible_to(signed_in(self.request))


class ProviderChangeDetailView(APIView):
    @extend_schema(responses=s.ProviderChangeOutput)
    def get(self, request, pk: int):
        change = get_object_or_404(provider_changes_visible_to(request.user), pk=pk)
        return Response(s.ProviderChangeOutput(change).data)


class ProviderChangeDecideView(APIView):
    """A district administrator of the provider's district approves (it takes effect) or
    rejects a pending change, saying why."""

    @extend_schema(request=s.ChangeDecisionInput, responses=s.ProviderChangeOutput)
    @idempotent
    def post(self, request, pk: int):
        require_role(request.user, ADMIN, _("decide provider changes"))
        change = get_object_or_404(provider_changes_visible_to(request.user), pk=pk)
        data = s.ChangeDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = services.provider_change_decide(
            change_id=change.pk,
            actor=request.user,
            approve=data.validated_data["approve"],
            note=data.validated_data["note"],
        )
        return Response(s.ProviderChangeOutput(change).data)


def _my_worker(request):
    worker = worker_for_user(user_id=request.user.pk)
    if worker is None:
        raise Http404
    return worker


class MyShiftView(APIView):
    """The signed-in worker goes on shift, on a break, or off shift."""

    @extend_schema(request=s.ShiftInput, responses=s.ShiftInput)
    def post(self, request):
        worker = _my_worker(request)
        data = s.ShiftInput(data=request.data)
        data.is_valid(raise_exception=True)
        worker = services.worker_shift_set(
            worker=worker, state=data.validated_data["state"], actor=request.user
        )
        return Response({"state": worker.shift_state})


class MyLocationView(APIView):
    """The worker app reports its position (WGS-84 or GCJ-02, as `crs` says). Always 202;
    `stored` says whether it was kept (at most one per worker per minimum interval)."""

    @extend_schema(
        request=PositionSerializer,
        responses={202: s.LocationOutput},
        parameters=[OpenApiParameter("crs", str, enum=["wgs84", "gcj02"])],
    )
    def post(self, request):
        # Every few seconds from every worker on shift: the worker is found by the statement
        # that stores the position. Whoever is not a worker is refused before the body is read.
        if signed_in(request).role != Role.WORKER:
            raise Http404
        position = PositionSerializer(data=request.data)
        position.is_valid(raise_exception=True)
        stored = services.worker_position_record_for_user(
            user_id=request.user.pk, point=position.to_point()
        )
        if stored is None:
            raise Http404
        return Response({"stored": stored}, status=status.HTTP_202_ACCEPTED)
