"""District staff act on alarms: the queue, acknowledge, dispatch help, close with an outcome
(docs/alarms.md, "Verify, then dispatch"). Scoped and named like dispatch's alert endpoints."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alarms import services
from alarms.models import Alarm
from alarms.selectors import alarms_for_staff
from backend.accounts.models import STAFF_ROLES, User
from backend.core.idempotency import idempotent
from backend.core.permissions import require_role, signed_in

from .serializers import AlarmCloseInput, AlarmOutput


class AlarmQueueView(ListAPIView):
    """The alarms of the caller's district: open first (the longest waiting first), then
    acknowledged, then closed."""

    serializer_class = AlarmOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Alarm.objects.none()
        user = signed_in(self.request)
        require_role(user, STAFF_ROLES, _("see alarms"))
        return alarms_for_staff(user)

    def paginate_queryset(self, queryset):
        """The page a staff member is shown: its alarms nobody had seen are seen now (the
        figures' "received to visible", for an alarm whose push never reached a socket)."""
        page = super().paginate_queryset(queryset)
        services.alarms_listed(page if page is not None else queryset)
        return page


def _staff_alarm(request: Request, pk: int) -> tuple[int, User]:
    """The alarm's id, and the caller, if the caller is district staff and the alarm is one of
    their district's (404 otherwise)."""
    user = signed_in(request)
    require_role(user, STAFF_ROLES, _("act on alarms"))
    return get_object_or_404(alarms_for_staff(user), pk=pk).pk, user


def _answer(request: Request, alarm_id: int) -> Response:
    return Response(AlarmOutput(alarms_for_staff(signed_in(request)).get(pk=alarm_id)).data)


class AlarmAcknowledgeView(APIView):
    """One operator takes the alarm; anyone after gets 409 naming who."""

    @extend_schema(request=None, responses=AlarmOutput)
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        alarm_id, user = _staff_alarm(request, pk)
        alarm = services.alarm_acknowledge(alarm_id=alarm_id, user=user)
        return _answer(request, alarm.pk)


class AlarmDispatchView(APIView):
    """Dispatch help for an acknowledged alarm: an emergency request for the elder, once."""

    @extend_schema(request=None, responses=AlarmOutput)
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        alarm_id, user = _staff_alarm(request, pk)
        alarm = services.alarm_dispatch(alarm_id=alarm_id, user=user)
        return _answer(request, alarm.pk)


class AlarmCloseView(APIView):
    """End an acknowledged alarm with its outcome and a note; the caller is recorded."""

    @extend_schema(request=AlarmCloseInput, responses=AlarmOutput)
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        alarm_id, user = _staff_alarm(request, pk)
        data = AlarmCloseInput(data=request.data)
        data.is_valid(raise_exception=True)
        alarm = services.alarm_close(alarm_id=alarm_id, user=user, **data.validated_data)
        return _answer(request, alarm.pk)
