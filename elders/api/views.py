from django.db import models
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import STAFF_ROLES, Role
from backend.core.idempotency import idempotent
from backend.core.permissions import require_role, signed_in
from elders import services
from elders.models import AccessLog, AlarmDevice, CareNeed, Consent, Elder, EmergencyContact
from elders.selectors import (
    ID_NUMBER_ROLES,
    elder_active_grant,
    elder_caller_card,
    elder_lists_in_full,
    elders_by_phone,
    elders_visible_to,
)

from . import serializers as s
from .filters import ElderFilter


def _visible_elder(request, pk: int) -> Elder:
    elder = (
        elders_visible_to(request.user)
        .prefetch_related("contacts", "care_needs")
        .filter(pk=pk)
        .first()
    )
    if elder is None:
        raise Http404
    return elder


class _ElderList(ListAPIView):
    """Elders the caller may see, filtered by ElderFilter. A role shown the brief list may not
    filter: each filter tests something the brief list hides (care, place, phone, status), so
    narrowing would tell it who matches."""

    filterset_class = ElderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Elder.objects.none()
        return elders_visible_to(signed_in(self.request)).order_by("id")

    def filter_queryset(self, queryset):
        if elder_lists_in_full(signed_in(self.request)):
            return super().filter_queryset(queryset)
        asked = sorted(set(self.request.query_params) & set(ElderFilter.base_filters))
        if asked:
            raise serializers.ValidationError(
                {
                    name: [_("not available to your role: your list does not show it")]
                    for name in asked
                }
            )
        return queryset


class ElderListView(_ElderList):
    """Elders the caller may see, with filters. Staff and family get the list fields; workers
    and provider admins see only what their grants allow."""

    serializer_class = s.ElderListOutput

    def get_serializer_class(self):
        if getattr(self, "swagger_fake_view", False):
            return s.ElderListOutput
        if elder_lists_in_full(signed_in(self.request)):
            return s.ElderListOutput
        return s.ElderBriefOutput

    @extend_schema(request=s.ElderInput, responses={201: s.ElderWithBirthDateOutput})
    @idempotent
    def post(self, request):
        require_role(request.user, STAFF_ROLES, _("register elders"))
        data = s.ElderInput(data=request.data)
        data.is_valid(raise_exception=True)
        elder = services.elder_create(
            actor=request.user, district_id=request.user.district_id, **data.validated_data
        )
        return Response(
            s.elder_file_output(request.user)(_visible_elder(request, elder.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class ElderFeaturesView(_ElderList):
    """The same list and filters as a GeoJSON FeatureCollection (in `results`), for maps
    (district staff only)."""

    serializer_class = s.ElderFeature

    def list(self, request, *args, **kwargs):
        require_role(request.user, STAFF_ROLES, _("map elders"))
        return super().list(request, *args, **kwargs)


class ElderDetailView(APIView):
    @extend_schema(responses=s.ElderWithBirthDateOutput)
    def get(self, request, pk: int):
        elder = _visible_elder(request, pk)
        return Response(s.elder_file_output(request.user)(elder).data)

    @extend_schema(request=s.ElderInput, responses=s.ElderWithBirthDateOutput)
    @idempotent
    def patch(self, request, pk: int):
        elder = _visible_elder(request, pk)
        require_role(request.user, STAFF_ROLES, _("change an elder's file"))
        data = s.ElderInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.elder_update(elder=elder, actor=request.user, **data.validated_data)
        return Response(s.elder_file_output(request.user)(_visible_elder(request, pk)).data)


class ElderLookupView(APIView):
    """Who is calling? Any phone format; a list, because people share landlines."""

    @extend_schema(
        parameters=[OpenApiParameter("phone", str, required=True)],
        responses=s.LookupOutput(many=True),
    )
    def get(self, request):
        require_role(request.user, STAFF_ROLES, _("look up callers"))
        phone = request.query_params.get("phone", "")
        if not phone.strip():
            raise serializers.ValidationError({"phone": [_("required")]})
        rows = [
            elder_caller_card(e, how) for e, how in elders_by_phone(user=request.user, phone=phone)
        ]
        return Response(s.LookupOutput(rows, many=True).data)


class IdNumberRevealView(APIView):
    """The full ID number, for roles that need it (supervisor, district admin); logged with
    the purpose you give."""

    class RevealOutput(serializers.Serializer):
        id_number = serializers.CharField()
        purpose = serializers.CharField()

    @extend_schema(request=s.PurposeInput, responses=RevealOutput)
    def post(self, request, pk: int):
        elder = _visible_elder(request, pk)
        require_role(request.user, ID_NUMBER_ROLES, _("see full ID numbers"))
        data = s.PurposeInput(data=request.data)
        data.is_valid(raise_exception=True)
        revealed = services.elder_id_number_reveal(
            elder=elder, user=request.user, purpose=data.validated_data["purpose"]
        )
        return Response({"id_number": revealed.value, "purpose": revealed.purpose})


class IdNumberCheckView(APIView):
    """Confirm a caller (district staff): the last 4 to 6 characters of the ID number the caller
    says, answered match or no match. Logged; 5 attempts an hour per elder, 20 per user (429
    with Retry-After)."""

    class CheckInput(serializers.Serializer):
        last_digits = serializers.CharField(
            max_length=6, help_text="The last 4 to 6 characters the caller says, e.g. 002X"
        )
        purpose = serializers.CharField(
            max_length=180,
            required=False,
            allow_blank=True,
            default="",
            help_text="Logged; default: confirm a caller's identity",
        )

    class CheckOutput(serializers.Serializer):
        match = serializers.BooleanField()

    @extend_schema(request=CheckInput, responses=CheckOutput)
    def post(self, request, pk: int):
        elder = _visible_elder(request, pk)
        require_role(request.user, STAFF_ROLES, _("check ID numbers"))
        data = self.CheckInput(data=request.data)
        data.is_valid(raise_exception=True)
        match = services.elder_id_number_check(
            elder=elder, user=request.user, **data.validated_data
        )
        return Response({"match": match})


PURPOSE = OpenApiParameter(
    "purpose", str, description="Why you read it (logged); a worker's job is logged for them"
)


def _read_purpose(request, elder: Elder, what: str) -> str:
    """Why a sensitive part of the file is read, for the access log: the `purpose` the caller
    sends or, for a worker, the job whose grant lets them see the elder."""
    purpose = request.query_params.get("purpose", "").strip()
    if request.user.role == Role.WORKER:
        grant = elder_active_grant(user=request.user, elder_id=elder.pk)
        if grant is None:  # the grant ended between the two reads
            raise Http404
        return f"{grant.reference}: {grant.purpose}" + (f" ({purpose})" if purpose else "")
    if not purpose:
        raise serializers.ValidationError(
            {"purpose": [_("say why you need the %(what)s") % {"what": what}]}
        )
    return purpose


class HealthView(APIView):
    """Health notes. Every read is logged with its purpose: the `purpose` you send, or, for a
    worker, the job that grants access."""

    @extend_schema(parameters=[PURPOSE], responses=s.HealthSerializer)
    def get(self, request, pk: int):
        elder = _visible_elder(request, pk)
        if request.user.role == Role.PROVIDER_ADMIN:
            raise Http404
        purpose = _read_purpose(request, elder, _("health notes"))
        profile = services.health_profile_read(elder=elder, user=request.user, purpose=purpose)
        return Response(s.HealthSerializer(profile).data)

    @extend_schema(request=s.HealthSerializer, responses=s.HealthSerializer)
    @idempotent
    def put(self, request, pk: int):
        elder = _visible_elder(request, pk)
        require_role(request.user, STAFF_ROLES, _("change health notes"))
        data = s.HealthSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = services.health_profile_write(
            elder=elder, user=request.user, **data.validated_data
        )
        return Response(s.HealthSerializer(profile).data)


class AssessmentsView(APIView):
    """Ability assessments, newest first; every read is logged with its `purpose`."""

    @extend_schema(parameters=[PURPOSE], responses=s.AssessmentOutput(many=True))
    def get(self, request, pk: int):
        elder = _visible_elder(request, pk)
        require_role(request.user, STAFF_ROLES | {Role.FAMILY}, _("see assessments"))
        purpose = _read_purpose(request, elder, _("assessments"))
        rows = services.assessments_read(elder=elder, user=request.user, purpose=purpose)
        return Response(s.AssessmentOutput(rows, many=True).data)

    @extend_schema(request=s.AssessmentInput, responses={201: s.AssessmentOutput})
    @idempotent
    def post(self, request, pk: int):
        elder = _visible_elder(request, pk)
        require_role(request.user, STAFF_ROLES, _("record assessments"))
        data = s.AssessmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        assessment = services.assessment_record(
            elder=elder, actor=request.user, **data.validated_data
        )
        return Response(s.AssessmentOutput(assessment).data, status=status.HTTP_201_CREATED)


class _ElderChildren(APIView):
    """List and add rows that belong to one elder (contacts, care needs, devices, consents)."""

    model: type[models.Model]
    input_class: type
    output_class: type
    read_roles = STAFF_ROLES | {Role.FAMILY}
    ordering: tuple[str, ...] = ("pk",)

    def get(self, request, pk: int):
        elder = _visible_elder(request, pk)
        require_role(request.user, self.read_roles, _("see this"))
        rows = self.model._default_manager.filter(elder=elder).order_by(*self.ordering)
        return Response(self.output_class(rows, many=True).data)

    @idempotent
    def post(self, request, pk: int):
        elder = _visible_elder(request, pk)
        require_role(request.user, STAFF_ROLES, _("change an elder's file"))
        data = self.input_class(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.elder_child_add(
            elder=elder, actor=request.user, model=self.model, fields=data.validated_data
        )
        return Response(self.output_class(row).data, status=status.HTTP_201_CREATED)


@extend_schema(request=s.ContactInput, responses=s.ContactOutput)
class ContactsView(_ElderChildren):
    model, input_class, output_class = EmergencyContact, s.ContactInput, s.ContactOutput
    ordering = ("priority",)


@extend_schema(request=s.CareNeedSerializer, responses=s.CareNeedSerializer)
class CareNeedsView(_ElderChildren):
    """The care plan with its notes; every read is logged with its `purpose` (a worker's, with
    the job that grants it). The file shows the plan without the notes."""

    model, input_class, output_class = CareNeed, s.CareNeedSerializer, s.CareNeedSerializer
    read_roles = STAFF_ROLES | {Role.FAMILY, Role.WORKER}

    @extend_schema(parameters=[PURPOSE], responses=s.CareNeedSerializer(many=True))
    def get(self, request, pk: int):
        elder = _visible_elder(request, pk)
        require_role(request.user, self.read_roles, _("see the care plan"))
        purpose = _read_purpose(request, elder, _("care plan"))
        rows = services.care_plan_read(elder=elder, user=request.user, purpose=purpose)
        return Response(s.CareNeedSerializer(rows, many=True).data)


@extend_schema(request=s.DeviceSerializer, responses=s.DeviceSerializer)
class DevicesView(_ElderChildren):
    """Alarm devices. Registering one answers its signing secret, once; no Idempotency-Key
    replay, which would keep the secret in a readable answer (a repeated registration is
    refused by the serial: rotate the secret instead)."""

    model, input_class, output_class = AlarmDevice, s.DeviceSerializer, s.DeviceSerializer

    @extend_schema(request=s.DeviceSerializer, responses={201: s.DeviceWithSecretOutput})
    def post(self, request, pk: int):
        elder = _visible_elder(request, pk)
        require_role(request.user, STAFF_ROLES, _("change an elder's file"))
        data = s.DeviceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device, secret = services.device_register(
            elder=elder, actor=request.user, fields=data.validated_data
        )
        return Response(_with_secret(device, secret), status=status.HTTP_201_CREATED)


class DeviceSecretRotateView(APIView):
    """A new signing secret for the device, shown once; the old one stops working at once."""

    @extend_schema(request=None, responses={200: s.DeviceWithSecretOutput})
    def post(self, request, pk: int):
        device = AlarmDevice.objects.filter(pk=pk).only("pk", "elder_id").first()
        if device is None:
            raise Http404
        _visible_elder(request, device.elder_id)
        require_role(request.user, STAFF_ROLES, _("change an elder's file"))
        device, secret = services.device_secret_rotate(device_id=device.pk, actor=request.user)
        return Response(_with_secret(device, secret))


def _with_secret(device: AlarmDevice, secret: str) -> dict:
    return {**s.DeviceSerializer(device).data, "secret": secret}


@extend_schema(request=s.ConsentSerializer, responses=s.ConsentSerializer)
class ConsentsView(_ElderChildren):
    model, input_class, output_class = Consent, s.ConsentSerializer, s.ConsentSerializer


class AccessLogView(ListAPIView):
    """Who read this elder's ID number or health notes, and why."""

    serializer_class = s.AccessLogOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AccessLog.objects.none()
        elder = _visible_elder(self.request, self.kwargs["pk"])
        require_role(signed_in(self.request), ID_NUMBER_ROLES, _("read the access log"))
        return AccessLog.objects.filter(elder=elder).select_related("user").order_by("-at")
