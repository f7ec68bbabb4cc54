"""The admin's map widget: Django's OpenLayers widget without its inline script (the
Content-Security-Policy allows none) and on the tiles of ANXIN_MAP_TILE_URL.

The tiles must be WGS-84 web mercator (OpenStreetMap and most others), never a GCJ-02 layer
(AMap, Tencent): what is drawn is stored as WGS-84, and a GCJ-02 map would shift it by up to
several hundred metres.
"""

from typing import Any

from django.conf import settings
from django.contrib.gis.forms.widgets import OSMWidget
from django.forms import Media
from django.urls import reverse


class MapWidget(OSMWidget):
    template_name = "core/map_widget.html"

    @property
    def media(self) -> Media:
        return Media(
            css={"all": (settings.ANXIN_MAP_STYLE_URL, "gis/css/ol3.css")},
            js=(
                settings.ANXIN_MAP_SCRIPT_URL,
                "gis/js/OLMapWidget.js",
                reverse("javascript-catalog"),  # gettext for core/map_widget.js
                "core/map_widget.js",
            ),
        )

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        # Read by core/map_widget.js from a JSON block, which a browser never runs.
        context["map_options"] = {
            "geom_name": context["geom_type"],
            "id": context["id"],
            "map_id": f"{context['id']}_map",
            "map_srid": context["map_srid"],
            "name": name,
            "default_lon": context["default_lon"],
            "default_lat": context["default_lat"],
            "default_zoom": context["default_zoom"],
            "tile_url": settings.ANXIN_MAP_TILE_URL,
            "tile_attribution": settings.ANXIN_MAP_TILE_ATTRIBUTION,
        }
        context["map_options_id"] = f"{context['id']}_map_options"
        return context
