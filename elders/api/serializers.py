from rest_framework import serializers
from rest_framework_gis.fields import GeometryField


class ElderListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    gender = serializers.CharField()
    phone = serializers.CharField()
    address = serializers.CharField()
    location = GeometryField(help_text="Home, GeoJSON Point, WGS-84")
