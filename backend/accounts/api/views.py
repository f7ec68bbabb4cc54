from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class MeView(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        role = serializers.CharField()
        district = serializers.CharField(source="district.code", allow_null=True, default=None)

    def get(self, request):
        return Response(self.OutputSerializer(request.user).data)
