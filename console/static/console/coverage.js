/* The coverage page's map (console/templates/console/district/coverage.html): the grid cells of
 * the 15-minute circle's gap, fetched as GeoJSON from the coverage grid API (data-url), each
 * shaded by how many elders in it no provider reaches, with a legend. Cells only: the API
 * sends no home. The base map is the console map's (map.js: the same tiles, converted for
 * GCJ-02 tiles, a plain background when no tile loads). Colours are classes (coverage.css),
 * never inline styles: the Content-Security-Policy. */
(function () {
  "use strict";

  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (fmt, args) { return fmt + " " + args.join(" "); };
  var L = window.L;
  var SHADES = 5;

  /* Upper bounds of the shades: one per count while they fit, else equal steps up to the most. */
  function bounds(most) {
    var steps = Math.min(SHADES, most);
    var tops = [];
    for (var i = 1; i <= steps; i++) tops.push(Math.ceil((most * i) / steps));
    return tops;
  }

  /* The class of the i-th step (from 0): spread over the shades, the most always the darkest. */
  function tone(i, steps) {
    return steps === 1 ? SHADES : 1 + Math.round((i * (SHADES - 1)) / (steps - 1));
  }

  function shade(count, tops) {
    for (var i = 0; i < tops.length; i++) if (count <= tops[i]) return tone(i, tops.length);
    return SHADES;
  }

  function legend(list, tops) {
    list.textContent = "";
    tops.forEach(function (top, i) {
      var low = i === 0 ? 1 : tops[i - 1] + 1;
      var item = document.createElement("li");
      var swatch = document.createElement("span");
      swatch.className = "swatch gap-shade-" + tone(i, tops.length);
      swatch.setAttribute("aria-hidden", "true");
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(low === top ? String(top) : low + "–" + top));
      list.appendChild(item);
    });
  }

  function draw(el, grid, config, status) {
    var map = el._anxinMap;
    var crs = config.crs;
    var most = grid.features.reduce(function (m, f) { return Math.max(m, f.properties.in_gap); }, 0);
    var tops = bounds(most);
    var layer = L.featureGroup().addTo(map); // on the map first: a cell has its element at once
    var total = 0;
    grid.features.forEach(function (feature) {
      var count = feature.properties.in_gap;
      total += count;
      var ring = feature.geometry.coordinates[0].map(function (at) { return window.AnxinMap.project(at, crs); });
      var cell = L.polygon(ring, { className: "gap-cell gap-shade-" + shade(count, tops), weight: 1 });
      cell.bindTooltip(interpolate(gettext("%s elders outside the circle"), [count]));
      cell.addTo(layer);
      cell.getElement().dataset.inGap = String(count);
    });
    if (grid.features.length) map.fitBounds(layer.getBounds(), { padding: [20, 20], maxZoom: 16 });
    legend(document.getElementById("coverage-legend"), tops);
    el.dataset.cells = String(grid.features.length);
    status(grid.features.length
      ? interpolate(gettext("%s cells, %s elders"), [grid.features.length, total])
      : gettext("No elder is outside the circle for this service."));
  }

  function coverageMap(el) {
    var config = JSON.parse(document.getElementById("map-config").textContent);
    var statusEl = document.getElementById("coverage-status");
    var notes = [];
    function status(message) {
      notes.push(message);
      if (statusEl) statusEl.textContent = notes.join(" · ");
    }
    window.AnxinMap.baseMap(el, config, status);
    fetch(el.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("coverage grid " + r.status);
        return r.json();
      })
      .then(function (grid) { draw(el, grid, config, status); })
      .catch(function () {
        el.dataset.cells = "error";
        status(gettext("The map's cells could not be loaded; the table and the list still hold."));
      });
  }

  function init() {
    if (!L || !window.AnxinMap) return;
    var el = document.querySelector("[data-coverage-map]");
    if (el && !el._anxinMap) coverageMap(el);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
