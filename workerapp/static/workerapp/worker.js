/* The worker app's script (docs/family-and-worker.md): registers the service worker (the
 * installable shell), ticks the offers' countdowns, tells the server an offer was seen, and
 * shares the phone's position while the worker is on shift or holds a job. The live link and
 * the cards that follow events are backend/core/static/core/live.js. No inline script (CSP). */
(function () {
  "use strict";

  var body = document.body;
  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (fmt, args) { return fmt + " " + args.join(" "); };
  if ("serviceWorker" in navigator && body.dataset.swUrl) {
    navigator.serviceWorker.register(body.dataset.swUrl, { scope: body.dataset.swScope })
      .catch(function () { /* over plain HTTP (not localhost) there is none: the app still works */ });
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function clock(at) { return two(at.getHours()) + ":" + two(at.getMinutes()) + ":" + two(at.getSeconds()); }

  /* time[data-clock="countdown"]: minutes and seconds left to its datetime; amber in the last
   * minute, red once passed (the server refuses a late accept and says so). */
  function tick() {
    var now = Date.now();
    document.querySelectorAll('time[data-clock="countdown"]').forEach(function (el) {
      var left = Math.round((Date.parse(el.getAttribute("datetime")) - now) / 1000);
      var s = Math.max(left, 0);
      el.textContent = Math.floor(s / 60) + ":" + two(s % 60);
      el.classList.toggle("soon", left > 0 && left <= 60);
      el.classList.toggle("late", left <= 0);
    });
  }
  tick();
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSettle", tick);

  var live = window.AnxinLive;
  if (!live) return; // the sign-in page

  function post(url, json) {
    var headers = { "X-CSRFToken": live.csrf, Accept: "application/json" };
    if (json) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: "POST", credentials: "same-origin", headers: headers,
      body: json ? JSON.stringify(json) : undefined,
    });
  }

  /* ---- an offer on a lit screen is an offer seen: it need not also go by SMS ---- */
  var told = new Set();
  function offersSeen() {
    if (document.visibilityState !== "visible") return;
    document.querySelectorAll("[data-opened-url]").forEach(function (el) {
      var url = el.dataset.openedUrl;
      if (told.has(url)) return;
      told.add(url);
      post(url).then(function (r) { if (!r.ok && r.status >= 500) told.delete(url); })
        .catch(function () { told.delete(url); });
    });
  }
  offersSeen();
  document.addEventListener("htmx:load", offersSeen);
  document.addEventListener("visibilitychange", offersSeen);

  /* ---- position sharing: on shift or on a job, no faster than the server takes it ---- */
  var status = document.getElementById("position");
  if (body.dataset.position !== "on" || !status) return;
  var every = Math.max(1, Number(body.dataset.positionInterval || 10)) * 1000;
  var lastSent = 0, lastFix = null, watching = null;
  function say(text, problem) {
    status.hidden = false;
    status.textContent = text;
    status.classList.toggle("problem", !!problem);
  }
  if (!("geolocation" in navigator)) {
    say(gettext("This browser cannot share a position: offers need it. Use the phone's own browser."), true);
    return;
  }
  function message(fix) {
    return {
      location: { type: "Point", coordinates: [fix.coords.longitude, fix.coords.latitude] },
      crs: "wgs84",
    };
  }
  function sent() {
    lastSent = Date.now();
    say(interpolate(gettext("Sharing your position (sent %s)"), [clock(new Date(lastSent))]));
  }
  function send(force) {
    if (!lastFix || (!force && Date.now() - lastSent < every)) return;
    if (Date.now() - lastFix.timestamp > 5 * 60000) return; // too old to say where the worker is
    var data = message(lastFix);
    if (live.send({ type: "location", data: data })) { sent(); return; }
    post(body.dataset.positionUrl, data).then(function (r) {
      if (r.ok) sent();
    }).catch(function () {
      say(gettext("No connection: your position will be sent when it returns."), true);
    });
  }
  function fixed(fix) { lastFix = fix; send(false); }
  function failed(err) {
    if (err.code === 1) {
      say(gettext("Location is blocked for this app: allow it in the browser's settings, or no offers can reach you."), true);
    } else {
      say(gettext("The phone cannot find its position just now: trying again."), true);
    }
  }
  function watch() {
    if (watching !== null) return;
    watching = navigator.geolocation.watchPosition(fixed, failed, {
      enableHighAccuracy: true, maximumAge: every, timeout: 30000,
    });
  }
  watch();
  // Between the phone's fixes (a still phone reports rarely), the last one again at the
  // interval, so the server knows the worker is still there; and at once when the app is back
  // on screen (a phone stops sending while its screen is off: the position went stale).
  setInterval(function () { send(false); }, every);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      navigator.geolocation.getCurrentPosition(function (fix) { lastFix = fix; send(true); }, failed, {
        enableHighAccuracy: true, maximumAge: 0, timeout: 30000,
      });
    }
  });
})();
