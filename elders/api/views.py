from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from elders.models import Elder
from elders.selectors import elders_visible_to

from .serializers import ElderListOutput


class ElderListView(ListAPIView):
    """Elders the caller may see (district staff: the district; family: their own)."""

    serializer_class = ElderListOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Elder.objects.none()
        return elders_visible_to(self.request.user).order_by("id")


class ElderDetailView(APIView):
    @extend_schema(responses=ElderListOutput)
    def get(self, request, pk: int):
        elder = get_object_or_404(elders_visible_to(request.user), pk=pk)
        return Response(ElderListOutput(elder).data)
