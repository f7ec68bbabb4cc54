from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import STAFF_ROLES, Role
from backend.core.idempotency import idempotent
from backend.core.permissions import require_role, signed_in
from dispatch import client_clock, escalation, follow_up, offer_sms, services
from dispatch.models import (
    CHANNEL_BY_ROLE,
    Complaint,
    JobOffer,
    OperatorAlert,
    ServiceRequest,
    ServiceType,
    Visit,
)
from dispatch.selectors import (
    alerts_for_staff,
    no_show_of,
    offers_for_user,
    request_for_staff,
    request_visible,
    requests_visible_to,
)
from elders.selectors import elders_visible_to

from .filters import AlertFilter, ComplaintFilter, OfferFilter, RequestFilter, VisitExceptionFilter
from .serializers import (
    AlertOutput,
    AlertResolveInput,
    AssignWorkerInput,
    CancelInput,
    CheckInInput,
    CheckInOutput,
    CheckOutInput,
    CheckOutOutput,
    CloseInput,
    ComplaintDecisionInput,
    ComplaintOutput,
    DeclineInput,
    ExceptionDecisionInput,
    ExplainOutput,
    FailInput,
    FeedbackInput,
    FeedbackOutput,
    OfferOutput,
    OverrideInput,
    RequestCreateInput,
    RequestOutput,
    ServiceTypeOutput,
    VisitExceptionOutput,
)
from .throttles import RequestCreateThrottle, service_type_named


class RequestListCreateView(ListAPIView):
    """Work orders the caller may see; `?state=escalated` is the operator queue,
    `?sla_missed=true` those that missed an accept or arrival target."""

    serializer_class = RequestOutput
    filterset_class = RequestFilter

    def get_throttles(self):
        return [*super().get_throttles(), RequestCreateThrottle()]

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "user": self.request.user}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ServiceRequest.objects.none()
        return requests_visible_to(signed_in(self.request)).order_by("-created_at")

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            services.request_care_notes_read(user=signed_in(self.request), requests=page)
        return page

    @extend_schema(request=RequestCreateInput, responses={201: RequestOutput})
    @idempotent
    def post(self, request):
        require_role(request.user, CHANNEL_BY_ROLE, _("create requests"))
        channel = CHANNEL_BY_ROLE[request.user.role]
        data = RequestCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        elder = elders_visible_to(request.user).filter(pk=values["elder"]).first()
        if elder is None:
            raise serializers.ValidationError({"elder": [_("no such elder")]})
        service_type = service_type_named(request, values["service_type"])
        if service_type is None:
            raise serializers.ValidationError({"service_type": [_("unknown service type")]})
        sr = services.service_request_create(
            elder=elder,
            service_type=service_type,
            channel=channel,
            caller=request.user,
            priority=values.get("priority"),
            window_start=values.get("window_start"),
            window_end=values.get("window_end"),
            notes=values["notes"],
        )
        sr = requests_visible_to(request.user).get(pk=sr.pk)
        return Response(
            RequestOutput(sr, context={"user": request.user}).data, status=status.HTTP_201_CREATED
        )


class RequestDetailView(APIView):
    @extend_schema(responses=RequestOutput)
    def get(self, request, pk: int):
        user = signed_in(request)
        sr = request_visible(user, pk)
        if sr is None:
            raise Http404
        services.request_care_notes_read(user=user, requests=[sr])
        return Response(RequestOutput(sr, context={"user": user}).data)


class RequestCancelView(APIView):
    @extend_schema(request=CancelInput, responses=RequestOutput)
    @idempotent
    def post(self, request, pk: int):
        require_role(request.user, CHANNEL_BY_ROLE, _("cancel requests"))
        if request_visible(request.user, pk) is None:
            raise Http404
        data = CancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_cancel(request_id=pk, actor=request.user, **data.validated_data)
        return Response(
            RequestOutput(request_visible(request.user, pk), context={"user": request.user}).data
        )


CLIENT_SENT_AT_PARAM = OpenApiParameter(
    client_clock.HEADER,
    OpenApiTypes.DATETIME,
    location=OpenApiParameter.HEADER,
    description="The phone's time when it sent this attempt (ISO 8601; not part of the body, so "
    "a resend keeps the Idempotency-Key's body): the offline gap is read as this minus "
    "client_at, and client_at is recorded on the server's clock. Without it, client_at is "
    "compared with the server's time.",
)


class CheckInView(APIView):
    """The assigned worker at the door. `crs` says whether `location` is WGS-84 or GCJ-02.
    Outside the geofence: 422 with code `outside_geofence` and `distance_m`, unless an
    `exception_reason` is given, which records the check-in for a supervisor to decide.
    `client_at`: the phone's time (a check-in sent late), read against the server's with the
    `X-Client-Sent-At` header (dispatch/client_clock.py). From the worker whose no-show the
    sweeper recorded before it arrived: 409 `treated_as_no_show` with `no_show_at`; the late
    check-in is recorded and the operators alerted."""

    @extend_schema(
        request=CheckInInput, responses={201: CheckInOutput}, parameters=[CLIENT_SENT_AT_PARAM]
    )
    @idempotent
    def post(self, request, pk: int):
        _assigned_to_me(request, pk, or_after_no_show=True)
        position = CheckInInput(data=request.data, context={"request": request})
        position.is_valid(raise_exception=True)
        result = services.visit_check_in(
            request_id=pk,
            user=request.user,
            point=position.to_point(),
            exception_reason=position.validated_data.get("exception_reason", ""),
            client_at=position.validated_data.get("client_at"),
            client_sent_at=position.validated_data["client_sent_at"],
        )
        return Response(CheckInOutput(result).data, status=status.HTTP_201_CREATED)


class CheckOutView(APIView):
    """Closes the visit where the worker is: `location` is required (`crs` as at check-in) and
    recorded with its distance from the home. A welfare check (巡访) says what it found in
    `welfare_outcome`; `no_answer` and `needs_help` alert the operators."""

    @extend_schema(
        request=CheckOutInput, responses=CheckOutOutput, parameters=[CLIENT_SENT_AT_PARAM]
    )
    @idempotent
    def post(self, request, pk: int):
        _assigned_to_me(request, pk)
        data = CheckOutInput(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        visit = services.visit_check_out(
            request_id=pk,
            user=request.user,
            point=data.to_point(),
            welfare_outcome=data.validated_data.get("welfare_outcome", ""),
            client_at=data.validated_data.get("client_at"),
            client_sent_at=data.validated_data["client_sent_at"],
        )
        return Response(CheckOutOutput(visit).data)


class VisitExceptionListView(ListAPIView):
    """Check-ins recorded outside the geofence; `?state=pending` is the supervisors' queue."""

    serializer_class = VisitExceptionOutput
    filterset_class = VisitExceptionFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Visit.objects.none()
        require_role(user := signed_in(self.request), STAFF_ROLES, _("see visit exceptions"))
        return (
            Visit.objects.filter(request__district_id=user.staff_district_id)
            .exclude(exception_state="")
            .order_by("-checked_in_at")
        )


class VisitExceptionDecideView(APIView):
    @extend_schema(request=ExceptionDecisionInput, responses=VisitExceptionOutput)
    @idempotent
    def post(self, request, pk: int):
        require_role(
            request.user, {Role.SUPERVISOR, Role.DISTRICT_ADMIN}, _("decide visit exceptions")
        )
        visit = get_object_or_404(Visit, pk=pk, request__district_id=request.user.district_id)
        data = ExceptionDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        visit = services.visit_exception_decide(
            visit_id=visit.pk, user=request.user, **data.validated_data
        )
        return Response(VisitExceptionOutput(visit).data)


def _assigned_to_me(request: Request, pk: int, *, or_after_no_show: bool = False) -> None:
    """404 before anything is read from the body, unless the caller is the worker the job is
    assigned to (the service checks again under the lock), or (`or_after_no_show`) the worker
    it was taken from as a no-show, whose late check-in the service records and refuses."""
    user = signed_in(request)
    sr = request_visible(user, pk)
    if sr is not None and sr.assigned_worker is not None and sr.assigned_worker.user_id == user.pk:
        return
    if or_after_no_show and no_show_of(request_id=pk, user=user) is not None:
        return
    raise Http404


def _staff_request(request: Request, pk: int) -> ServiceRequest:
    """The work order, for district staff of its district; 404 for anyone else."""
    user = signed_in(request)
    require_role(user, STAFF_ROLES, _("do this"))
    sr = request_for_staff(user, pk)
    if sr is None:
        raise Http404
    return sr


def _staff_act(request, pk: int, act, input_serializer=None) -> Response:
    """A district staff action on a work order: check the caller may, validate the body, call
    the service as `act(request_id=, actor=, **fields)`, answer with the work order."""
    _staff_request(request, pk)
    values = {}
    if input_serializer is not None:
        data = input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
    act(request_id=pk, actor=request.user, **values)
    sr = request_visible(request.user, pk)
    return Response(RequestOutput(sr, context={"user": request.user}).data)


class RequestSetOutView(APIView):
    """The assigned worker is on the way."""

    @extend_schema(request=None, responses=RequestOutput)
    @idempotent
    def post(self, request, pk: int):
        services.request_set_out(request_id=pk, user=request.user)
        sr = request_visible(request.user, pk)
        return Response(RequestOutput(sr, context={"user": request.user}).data)


class RequestOverrideView(APIView):
    """An operator assigns a named worker past matching, with a reason."""

    @extend_schema(request=OverrideInput, responses=RequestOutput)
    @idempotent
    def post(self, request, pk: int):
        def assign(*, worker, **values):
            services.request_override_assign(worker_id=worker, **values)

        return _staff_act(request, pk, assign, OverrideInput)


class RequestCloseView(APIView):
    """Close after the visit, with an outcome (default `served`). An emergency closes only
    here: the operator who records its outcome answers for it."""

    @extend_schema(request=CloseInput, responses=RequestOutput)
    @idempotent
    def post(self, request, pk: int):
        return _staff_act(request, pk, services.request_close, CloseInput)


class RequestRetryView(APIView):
    """Send queued work (escalated) back to matching, from the ladder's first round."""

    @extend_schema(request=None, responses=RequestOutput)
    @idempotent
    def post(self, request, pk: int):
        return _staff_act(request, pk, services.request_retry)


class ServiceTypeListView(ListAPIView):
    """The service catalogue with each service's SLA targets and escalation ladder."""

    serializer_class = ServiceTypeOutput
    pagination_class = None
    queryset = ServiceType.objects.order_by("pk")


class RequestFailView(APIView):
    """End a request nobody could take, with an outcome code."""

    @extend_schema(request=FailInput, responses=RequestOutput)
    @idempotent
    def post(self, request, pk: int):
        return _staff_act(request, pk, services.request_fail, FailInput)


class RequestExplainView(APIView):
    """Why each candidate ranks where it does, now: every term, its weight and contribution.
    District staff only."""

    @extend_schema(request=None, responses=ExplainOutput)
    def get(self, request, pk: int):
        sr = _staff_request(request, pk)
        ranked = services.ranked_candidates(sr)
        return Response(
            {
                "request": sr.pk,
                "weights": settings.ANXIN["RANK_WEIGHTS"],
                "candidates": [r.as_dict() for r in ranked],
            }
        )


class RequestFeedbackView(APIView):
    """Follow-up (回访) after the visit: the family, or an operator who called, records a
    rating. 2 or less opens a complaint; the request closes."""

    @extend_schema(request=FeedbackInput, responses={201: FeedbackOutput})
    @idempotent
    def post(self, request, pk: int):
        user = signed_in(request)
        require_role(user, CHANNEL_BY_ROLE, _("record feedback"))
        if request_visible(user, pk) is None:
            raise Http404
        data = FeedbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        feedback = follow_up.feedback_record(
            request_id=pk, user=request.user, **data.validated_data
        )
        return Response(FeedbackOutput(feedback).data, status=status.HTTP_201_CREATED)


class ComplaintListView(ListAPIView):
    """Complaints of the caller's district (district staff); `?state=open` is the queue."""

    serializer_class = ComplaintOutput
    filterset_class = ComplaintFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Complaint.objects.none()
        require_role(user := signed_in(self.request), STAFF_ROLES, _("see complaints"))
        return Complaint.objects.filter(request__district_id=user.staff_district_id).order_by(
            "-opened_at"
        )


class ComplaintDecideView(APIView):
    """A district administrator upholds (credit record: upheld complaint) or dismisses."""

    @extend_schema(request=ComplaintDecisionInput, responses=ComplaintOutput)
    @idempotent
    def post(self, request, pk: int):
        require_role(request.user, {Role.DISTRICT_ADMIN}, _("decide complaints"))
        complaint = get_object_or_404(
            Complaint, pk=pk, request__district_id=request.user.district_id
        )
        data = ComplaintDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        complaint = follow_up.complaint_decide(
            complaint_id=complaint.pk,
            actor=request.user,
            uphold=data.validated_data["uphold"],
            note=data.validated_data["note"],
        )
        return Response(ComplaintOutput(complaint).data)


class AlertListView(ListAPIView):
    """Alerts of the caller's district: `?open=true` for those nobody has taken yet,
    `?unresolved=true` for the exception queue (taken or not, not yet resolved), `?kind=`."""

    serializer_class = AlertOutput
    filterset_class = AlertFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return OperatorAlert.objects.none()
        require_role(user := signed_in(self.request), STAFF_ROLES, _("see alerts"))
        return alerts_for_staff(user)


def _staff_alert(request, pk: int) -> int:
    """The alert's id if it is one of the caller's district and the caller is district staff."""
    require_role(user := signed_in(request), STAFF_ROLES, _("act on alerts"))
    return get_object_or_404(alerts_for_staff(user), pk=pk).pk


class AlertAcknowledgeView(APIView):
    """The operator who acknowledges takes responsibility for the alert's request."""

    @extend_schema(request=None, responses=AlertOutput)
    @idempotent
    def post(self, request, pk: int):
        alert = escalation.alert_acknowledge(alert_id=_staff_alert(request, pk), user=request.user)
        return Response(AlertOutput(alert).data)


class AlertResolveView(APIView):
    """Close an alert with one of its `resolutions` codes (and a note). Resolving an alert
    nobody acknowledged acknowledges it too."""

    @extend_schema(request=AlertResolveInput, responses=AlertOutput)
    @idempotent
    def post(self, request, pk: int):
        alert_id = _staff_alert(request, pk)
        data = AlertResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        alert = escalation.alert_resolve(
            alert_id=alert_id, user=request.user, **data.validated_data
        )
        return Response(AlertOutput(alert).data)


class RequestAssignWorkerView(APIView):
    """A provider that accepted a whole job names the worker who goes."""

    @extend_schema(request=AssignWorkerInput, responses=RequestOutput)
    @idempotent
    def post(self, request, pk: int):
        user = signed_in(request)
        require_role(user, {Role.PROVIDER_ADMIN}, _("name the worker of a job"))
        if request_visible(user, pk) is None:
            raise Http404
        data = AssignWorkerInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_assign_worker(
            request_id=pk, user=request.user, worker_id=data.validated_data["worker"]
        )
        sr = request_visible(request.user, pk)
        return Response(RequestOutput(sr, context={"user": request.user}).data)


class OfferListView(ListAPIView):
    """The signed-in worker's offers (pending by default; `?state=` for others, `all` for all)."""

    serializer_class = OfferOutput
    filterset_class = OfferFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return JobOffer.objects.none()
        return offers_for_user(signed_in(self.request), state=None)


class OfferAcceptView(APIView):
    """First accept wins. Anyone later gets 409 with `current_state`."""

    @extend_schema(request=None, responses=RequestOutput)
    @idempotent
    def post(self, request, pk: int):
        offer = services.offer_accept(offer_id=pk, user=request.user)
        sr = get_object_or_404(requests_visible_to(request.user), pk=offer.request_id)
        return Response(RequestOutput(sr, context={"user": request.user}).data)


class OfferDeclineView(APIView):
    @extend_schema(request=DeclineInput, responses=OfferOutput)
    @idempotent
    def post(self, request, pk: int):
        if not offers_for_user(signed_in(request), state=None).filter(pk=pk).exists():
            raise Http404
        data = DeclineInput(data=request.data)
        data.is_valid(raise_exception=True)
        offer = services.offer_decline(
            offer_id=pk, user=request.user, reason=data.validated_data["reason"]
        )
        return Response(OfferOutput(offer).data)


class OfferOpenedView(APIView):
    """The worker's app opened the offer: it has a connection, so the offer does not also go
    by SMS (ANXIN["OFFER_SMS_AFTER_S"]). The first call counts; later ones change nothing."""

    @extend_schema(request=None, responses=OfferOutput)
    def post(self, request, pk: int):
        offer = get_object_or_404(
            offers_for_user(signed_in(request), state=None).select_related("request"), pk=pk
        )
        return Response(OfferOutput(offer_sms.offer_opened(offer=offer)).data)
