from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import STAFF_ROLES
from backend.core.idempotency import idempotent
from backend.core.permissions import require_role, signed_in
from hotline import selectors, services
from hotline.models import Call, CallBack, CallBackState

from .serializers import CallBackCloseInput, CallBackListQuery, CallBackOutput, CallOutput


class CallWaitingListView(ListAPIView):
    """Callers waiting for an operator in the caller's district: emergencies first, then by
    arrival in the queue. Pushes (`call.ringing`, `call.queued`, `call.connecting`...) say when
    to read it again."""

    serializer_class = CallOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Call.objects.none()
        require_role(user := signed_in(self.request), STAFF_ROLES, _("see the hotline's calls"))
        return selectors.calls_waiting(user)


class CallTakeView(APIView):
    """Take a waiting call: the caller is put through to your registered phone (`phone` on
    your account; 422 `operator_phone_missing` without one), which hears what the call is and
    takes it when you press 1. The first take wins; a second gets 409 naming who took it; the
    same operator asking again gets their take as it stands. 503 when the telephone network
    refused: the call waits in the queue again.

    No request-wide transaction (and so no Idempotency-Key, which needs one): the take commits
    before the telephone network is asked to move the caller, who may arrive at once."""

    @extend_schema(request=None, responses=CallOutput)
    def post(self, request, pk: int):
        user = signed_in(request)
        require_role(user, STAFF_ROLES, _("take hotline calls"))
        get_object_or_404(selectors.calls_visible_to(user), pk=pk)
        services.call_take(call_id=pk, user=user)
        return Response(CallOutput(selectors.calls_visible_to(user).get(pk=pk)).data)


class CallBackListView(ListAPIView):
    """People to call back (a message or a hang-up when nobody took the call in time, an SMS
    nothing took), oldest first: open and taken ones by default, `?state=` for one state."""

    serializer_class = CallBackOutput

    @extend_schema(parameters=[OpenApiParameter("state", str, enum=CallBackState.values)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CallBack.objects.none()
        require_role(user := signed_in(self.request), STAFF_ROLES, _("see call-backs"))
        query = CallBackListQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.call_backs_visible_to(user, state=query.validated_data.get("state"))


class CallBackTakeView(APIView):
    """Take a call-back: you are the one who calls back."""

    @extend_schema(request=None, responses=CallBackOutput)
    @idempotent
    def post(self, request, pk: int):
        user = signed_in(request)
        require_role(user, STAFF_ROLES, _("take call-backs"))
        back = services.call_back_take(call_back_id=pk, user=user)
        return Response(CallBackOutput(back).data)


class CallBackCloseView(APIView):
    """Close a call-back you took (or nobody took), saying what came of it."""

    @extend_schema(request=CallBackCloseInput, responses=CallBackOutput)
    @idempotent
    def post(self, request, pk: int):
        user = signed_in(request)
        require_role(user, STAFF_ROLES, _("close call-backs"))
        get_object_or_404(selectors.call_backs_visible_to(user, state=None, open_only=False), pk=pk)
        data = CallBackCloseInput(data=request.data)
        data.is_valid(raise_exception=True)
        back = services.call_back_close(
            call_back_id=pk, user=user, note=data.validated_data["note"]
        )
        return Response(CallBackOutput(back).data)
