"use strict";
// Builds each admin map from the JSON options beside it (core/map_widget.html), on the tiles
// of ANXIN_MAP_TILE_URL. No inline script, so the Content-Security-Policy needs no
// 'unsafe-inline'. MapWidget is Django's (gis/js/OLMapWidget.js), ol is OpenLayers, gettext
// is the /jsi18n/ catalogue's (djangojs domain, loaded before this file).
{
    // OpenLayers comes from ANXIN_MAP_SCRIPT_URL, often another host: where it cannot be
    // reached, say so where the map would be instead of leaving a blank box.
    const unavailable = (options) => {
        const box = document.getElementById(options.map_id);
        if (box === null) {
            return;
        }
        const note = document.createElement("p");
        note.className = "errornote";
        note.textContent = gettext(
            "The map could not be loaded: the map service is unreachable from this browser. " +
            "Reload the page, or ask an administrator to check ANXIN_MAP_SCRIPT_URL."
        );
        box.replaceChildren(note);
    };
    const start = () => {
        const blocks = document.querySelectorAll('script[type="application/json"][id$="_map_options"]');
        for (const block of blocks) {
            const options = JSON.parse(block.textContent);
            if (typeof ol === "undefined" || typeof MapWidget === "undefined") {
                unavailable(options);
                continue;
            }
            options.base_layer = new ol.layer.Tile({
                source: new ol.source.XYZ({
                    url: options.tile_url,
                    attributions: options.tile_attribution,
                }),
            });
            new MapWidget(options);
        }
    };
    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
}
