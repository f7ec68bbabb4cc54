from rest_framework import serializers

from backend.core.geo import PointOutputField


class ElderListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    gender = serializers.CharField()
    phone = serializers.CharField()
    address = serializers.CharField()
    location = PointOutputField(help_text="Home, GeoJSON Point, WGS-84")
