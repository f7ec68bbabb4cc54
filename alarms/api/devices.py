"""District staff see their devices' problems (offline, maintenance tasks) and close a
maintenance task by hand (docs/alarms.md, "Heartbeats"). Scoped like the alarm queue: another
district's problem is 404; elder data, so district staff only."""

import django_filters
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alarms import devices
from alarms.models import DeviceProblem, ProblemKind, ProblemResolution, ProblemState
from alarms.selectors import device_problems_for_staff
from backend.accounts.models import STAFF_ROLES, User
from backend.core.filters import BooleanFilter
from backend.core.idempotency import idempotent
from backend.core.permissions import require_role, signed_in


class DeviceProblemFilter(django_filters.FilterSet):
    open = BooleanFilter(
        method="filter_open", help_text="true: still open; false: ended (by itself or by hand)"
    )
    kind = django_filters.ChoiceFilter(choices=ProblemKind.choices)
    elder = django_filters.NumberFilter(field_name="device__elder_id", help_text="An elder's id")

    class Meta:
        model = DeviceProblem
        fields = ["open", "kind", "elder"]

    def filter_open(self, qs, name, value):
        return qs.filter(state=ProblemState.OPEN if value else ProblemState.ENDED)


class DeviceProblemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ProblemKind.choices)
    state = serializers.ChoiceField(choices=ProblemState.choices)
    device = serializers.IntegerField(source="device_id")
    serial = serializers.CharField(source="device.serial")
    device_kind = serializers.CharField(source="device.kind")
    elder = serializers.IntegerField(source="device.elder_id")
    elder_name = serializers.CharField(source="device.elder.full_name")
    opened_at = serializers.DateTimeField()
    last_heard_at = serializers.DateTimeField(
        allow_null=True, help_text="Offline: the last message received; none if never heard"
    )
    battery = serializers.IntegerField(
        allow_null=True, help_text="Low battery: the level reported, percent"
    )
    open_s = serializers.SerializerMethodField(help_text="Seconds open (until it ended)")
    ended_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.ChoiceField(
        choices=[("", "Open"), *ProblemResolution.choices],
        help_text="How it ended: back (by itself), closed (by hand), retired (deactivated)",
    )
    ended_by = serializers.CharField(source="ended_by.username", allow_null=True, default=None)
    note = serializers.CharField()

    def get_open_s(self, obj) -> int:
        return max(0, int(((obj.ended_at or timezone.now()) - obj.opened_at).total_seconds()))


class DeviceProblemCloseInput(serializers.Serializer):
    note = serializers.CharField(max_length=300, help_text="What was done, e.g. battery changed")


class DeviceProblemListView(ListAPIView):
    """The device problems of the caller's district: open first (the longest open first), then
    ended (the latest first). `?open=`, `?kind=device_offline|low_battery`, `?elder=`."""

    serializer_class = DeviceProblemOutput
    filterset_class = DeviceProblemFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DeviceProblem.objects.none()
        user = signed_in(self.request)
        require_role(user, STAFF_ROLES, _("see device problems"))
        return device_problems_for_staff(user)


def _staff_problem(request: Request, pk: int) -> tuple[int, User]:
    user = signed_in(request)
    require_role(user, STAFF_ROLES, _("act on device problems"))
    return get_object_or_404(device_problems_for_staff(user), pk=pk).pk, user


class DeviceProblemCloseView(APIView):
    """Close a maintenance task by hand (the battery was changed or charged), with a note. An
    offline device's problem is not closed by hand: it ends when the device is heard (409)."""

    @extend_schema(request=DeviceProblemCloseInput, responses=DeviceProblemOutput)
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        problem_id, user = _staff_problem(request, pk)
        data = DeviceProblemCloseInput(data=request.data)
        data.is_valid(raise_exception=True)
        devices.device_problem_close(problem_id=problem_id, user=user, **data.validated_data)
        problem = device_problems_for_staff(user).get(pk=problem_id)
        return Response(DeviceProblemOutput(problem).data)
