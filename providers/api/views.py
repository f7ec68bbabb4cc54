from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.geo import PositionSerializer
from providers.models import ShiftState
from providers.selectors import worker_for_user
from providers.services import worker_position_record, worker_shift_set


def _my_worker(request):
    worker = worker_for_user(user_id=request.user.pk)
    if worker is None:
        raise Http404
    return worker


class MyShiftView(APIView):
    """The signed-in worker goes on shift, on a break, or off shift."""

    class ShiftInput(serializers.Serializer):
        state = serializers.ChoiceField(choices=ShiftState.choices)

    @extend_schema(request=ShiftInput, responses=ShiftInput)
    def post(self, request):
        worker = _my_worker(request)
        data = self.ShiftInput(data=request.data)
        data.is_valid(raise_exception=True)
        worker = worker_shift_set(
            worker=worker, state=data.validated_data["state"], actor=request.user
        )
        return Response({"state": worker.shift_state})


class MyLocationView(APIView):
    """The worker app reports its position (WGS-84 or GCJ-02, as `crs` says)."""

    class LocationOutput(serializers.Serializer):
        recorded_at = serializers.DateTimeField()

    @extend_schema(request=PositionSerializer, responses=LocationOutput)
    def post(self, request):
        worker = _my_worker(request)
        position = PositionSerializer(data=request.data)
        position.is_valid(raise_exception=True)
        stored = worker_position_record(worker=worker, point=position.to_point())
        return Response({"recorded_at": stored.recorded_at})
