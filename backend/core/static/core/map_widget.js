"use strict";
// Builds each admin map from the JSON options beside it (core/map_widget.html), on the tiles
// of ANXIN_MAP_TILE_URL. No inline script, so the Content-Security-Policy needs no
// 'unsafe-inline'. MapWidget is Django's (gis/js/OLMapWidget.js), ol is OpenLayers.
{
    const start = () => {
        const blocks = document.querySelectorAll('script[type="application/json"][id$="_map_options"]');
        for (const block of blocks) {
            const options = JSON.parse(block.textContent);
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
