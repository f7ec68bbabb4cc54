/* The console's maps (Leaflet, from the project's static files):
 * - the district map (/console/map/): workers on shift and open requests, from the snapshot
 *   (data-url) on load and after a reconnect; workers move by the batches the server pushes
 *   (`anxin:workers.positions`, console/positions.py); a shift or a request that changes has
 *   the snapshot read again. A request's marker opens its panel beside the map.
 * - a request's small map (in the request panel): the elder's home and the candidates.
 * Points arrive in WGS-84 [lng, lat]; for GCJ-02 tiles (config.crs) they are converted before
 * they are drawn (gcj02.js). With no tile server reachable the points still show, on the plain
 * background, and the page says so. Names go into the page as text, never as HTML. */
(function () {
  "use strict";

  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (fmt, args) { return fmt + " " + args.join(" "); };
  var L = window.L;

  function project(at, crs) {
    var p = crs === "gcj02" ? window.AnxinGeo.wgs84ToGcj02(at[0], at[1]) : at;
    return L.latLng(p[1], p[0]);
  }

  function text(tag, className, value) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    el.textContent = value;
    return el;
  }

  function pin(className, label) {
    return L.divIcon({
      className: "pin " + className,
      html: text("span", "pin-label", label || ""),
      iconSize: null,
    });
  }

  function readJSON(el, selector) {
    var node = el.querySelector(selector);
    return node ? JSON.parse(node.textContent) : null;
  }

  function baseMap(el, config, status) {
    // A view from the start: markers added later get their elements at once.
    var map = L.map(el, { zoomControl: true, attributionControl: true }).setView([35, 105], 4);
    var tiles = L.tileLayer(config.tiles, { attribution: config.attribution, maxZoom: 19 });
    tiles.once("tileerror", function () {
      el.classList.add("tiles-off");
      if (status) status(gettext("Map tiles cannot be loaded: the points are shown on a plain background."));
    });
    tiles.addTo(map);
    el._anxinMap = map;
    return map;
  }

  function fit(map, points, fallback) {
    if (points.length > 1) map.fitBounds(L.latLngBounds(points), { padding: [30, 30], maxZoom: 16 });
    else if (points.length === 1) map.setView(points[0], 15);
    else if (fallback) map.fitBounds(fallback);
  }

  /* ---- a request's small map ---- */
  function requestMap(el) {
    var data = readJSON(el, "script[type='application/json']");
    if (!data) return;
    var crs = data.config.crs;
    var map = baseMap(el, data.config, function (message) { el.title = message; });
    var points = [];
    function add(at, icon, label, attrs) {
      var where = project(at, crs);
      var marker = L.marker(where, { icon: icon, keyboard: false }).addTo(map);
      marker.bindTooltip(text("span", "", label));
      Object.keys(attrs || {}).forEach(function (k) { marker.getElement().dataset[k] = attrs[k]; });
      points.push(where);
    }
    if (data.elder) add(data.elder, pin("elder-pin", ""), data.elder_name || gettext("Elder"), { elder: "1" });
    data.candidates.forEach(function (c) {
      add(c.at, pin("candidate-pin", String(c.rank)), c.rank + ". " + c.name, { candidate: String(c.rank) });
    });
    if (data.assigned) add(data.assigned.at, pin("worker-pin assigned", ""), data.assigned.name, { assigned: "1" });
    fit(map, points, null);
  }

  /* ---- the district map ---- */
  function districtMap(el) {
    var config = JSON.parse(document.getElementById("map-config").textContent);
    var crs = config.crs;
    var statusEl = document.getElementById("map-status");
    var tileNote = "";
    function status(message) {
      if (message) tileNote = message;
      if (statusEl) statusEl.textContent = [counts(), tileNote].filter(Boolean).join(" · ");
    }
    var map = baseMap(el, config, status);
    var workers = new Map(), requests = new Map();
    var fitted = false, loading = null, again = false, timer = null;

    function counts() {
      return interpolate(gettext("%s workers on shift, %s open requests"), [workers.size, requests.size]);
    }
    function workerIcon(w) {
      return pin("worker-pin" + (w.busy ? " busy" : "") + (w.stale ? " stale" : ""), "");
    }
    function putWorker(w) {
      var marker = workers.get(w.id);
      var where = project(w.at, crs);
      if (!marker) {
        marker = L.marker(where, { icon: workerIcon(w), keyboard: false }).addTo(map);
        marker.bindTooltip(text("span", "", w.name + " · " + w.provider));
        workers.set(w.id, marker);
      } else {
        marker.setLatLng(where);
        marker.setIcon(workerIcon(w));
      }
      marker.getElement().dataset.worker = String(w.id);
      marker._anxin = w;
    }
    function putRequest(r) {
      var marker = requests.get(r.id);
      var icon = pin("request-pin priority-" + r.priority + " state-" + r.state, "");
      if (!marker) {
        marker = L.marker(project(r.at, crs), { icon: icon, keyboard: true, title: r.reference }).addTo(map);
        marker.on("click", function () { open(marker._anxin); });
        requests.set(r.id, marker);
      } else {
        marker.setLatLng(project(r.at, crs));
        marker.setIcon(icon);
      }
      marker.unbindTooltip();
      marker.bindTooltip(text("span", "", [r.reference, r.service, r.elder, r.state_label].filter(Boolean).join(" · ")));
      marker.getElement().dataset.request = String(r.id);
      marker._anxin = r;
    }
    function open(r) {
      window.htmx.ajax("GET", r.panel, { target: "#workspace", swap: "innerHTML" });
    }
    function prune(markers, keep) {
      markers.forEach(function (marker, id) {
        if (!keep.has(id)) { marker.remove(); markers.delete(id); }
      });
    }
    function apply(snapshot) {
      snapshot.workers.forEach(putWorker);
      prune(workers, new Set(snapshot.workers.map(function (w) { return w.id; })));
      snapshot.requests.forEach(putRequest);
      prune(requests, new Set(snapshot.requests.map(function (r) { return r.id; })));
      if (!fitted) {
        fitted = true;
        var points = [];
        workers.forEach(function (m) { points.push(m.getLatLng()); });
        requests.forEach(function (m) { points.push(m.getLatLng()); });
        var district = snapshot.bounds && L.latLngBounds(snapshot.bounds.map(function (c) { return project(c, crs); }));
        fit(map, points, district);
      }
      el.dataset.loaded = snapshot.at;
      status();
    }
    function load() {
      if (loading) { again = true; return loading; }
      loading = fetch(el.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error("map data " + r.status);
          return r.json();
        })
        .then(apply)
        .catch(function () { status(gettext("The map could not be brought up to date; it tries again on the next change.")); })
        .then(function () {
          loading = null;
          if (again) { again = false; load(); }
        });
      return loading;
    }
    function soon() { // many events at once are one reload
      clearTimeout(timer);
      timer = setTimeout(load, 500);
    }
    document.addEventListener("anxin:workers.positions", function (e) {
      var moved = (e.detail.data && e.detail.data.workers) || [];
      var unknown = false;
      moved.forEach(function (w) {
        var marker = workers.get(w.id);
        if (!marker) { unknown = true; return; }
        var known = marker._anxin;
        putWorker({ id: w.id, name: known.name, provider: known.provider, at: w.at, busy: w.busy, stale: false });
      });
      if (unknown) soon();
    });
    document.addEventListener("anxin:event", function (e) {
      var type = e.detail.type || "";
      if (type.indexOf("worker.") === 0 || type.indexOf("request.") === 0) soon();
    });
    document.addEventListener("anxin:reconnected", load);
    load();
  }

  function init(root) {
    if (!L) return;
    var found = root.querySelectorAll ? root.querySelectorAll("[data-map]") : [];
    var all = root.matches && root.matches("[data-map]") ? [root].concat(Array.from(found)) : Array.from(found);
    all.forEach(function (el) {
      if (el._anxinMap) return;
      if (el.dataset.map === "district") districtMap(el);
      else if (el.dataset.map === "request") requestMap(el);
    });
  }
  // A map leaving the page (an htmx swap) lets go of its listeners.
  document.addEventListener("htmx:beforeCleanupElement", function (e) {
    var el = e.detail.elt;
    if (el && el._anxinMap) { el._anxinMap.remove(); el._anxinMap = null; }
  });
  document.addEventListener("htmx:load", function (e) { init(e.detail.elt); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { init(document); });
  else init(document);

  // The coverage page's map (coverage.js) draws on the same base: tiles, their system, offline.
  window.AnxinMap = { project: project, baseMap: baseMap };
})();
