/* A job's page: check in and check out from the phone's position and time. One tap is one
 * attempt with its own Idempotency-Key, kept on the phone (visit-queue.js) until the server has
 * answered: sent at once, and again when the browser says it is online, every few seconds while
 * any waits, on the next page load, and by the service worker (Background Sync, and its start).
 * Outside the geofence the server's refusal carries the distance: the page asks for a reason
 * and sends the same position and time again with it. No inline script (the CSP): the page's
 * settings and sentences come from the JSON block #visit-config. */
(function () {
  "use strict";

  var Queue = window.AnxinVisitQueue;
  var block = document.getElementById("visit-config");
  if (!Queue || !block) { return; }
  var config = JSON.parse(block.textContent);
  var T = config.texts;
  var DONE_KEY = "anxin-visit-done";
  var SYNC_TAG = "anxin-visits";

  var statusLine = document.getElementById("visit-status");
  var waitingList = document.getElementById("visit-waiting");
  var refusedBox = document.getElementById("visit-refused");
  var refusedText = document.getElementById("visit-refused-text");
  var reasonBox = document.getElementById("visit-reason");
  var shownRefusal = null;  // the refused attempt the box shows
  var flushing = false;

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  }

  function say(text, kind) {
    statusLine.textContent = text || "";
    statusLine.className = "notice" + (kind ? " " + kind : "");
    statusLine.hidden = !text;
  }

  function buttons(enabled) {
    document.querySelectorAll("[data-visit-button]").forEach(function (b) { b.disabled = !enabled; });
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function clock(iso) {
    var at = new Date(iso);
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return two(at.getHours()) + ":" + two(at.getMinutes());
  }

  function locate() {
    return new Promise(function (resolve, reject) {
      if (!navigator.geolocation) { reject({ code: 2 }); return; }
      navigator.geolocation.getCurrentPosition(resolve, reject, {
        enableHighAccuracy: true,
        timeout: config.position_timeout_ms,
        maximumAge: config.position_max_age_ms
      });
    });
  }

  /* The background sync the service worker answers (where the browser has it). */
  function askForSync() {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.sync) { return registration.sync.register(SYNC_TAG); }
    }).catch(function () { /* no Background Sync: the page's own retries go on */ });
  }

  /* What one attempt's answer means on this page. */
  function show(result) {
    var item = result.item;
    if (result.state === "sent") {
      if (item.job === config.job) {
        // The page is drawn again to show the job's new state; the notice survives the reload.
        sessionStorage.setItem(DONE_KEY, T["done_" + item.kind]);
        window.location.reload();
      }
      return;
    }
    if (result.state === "waiting") { askForSync(); }
    render();
  }

  function showRefusal(item) {
    var error = item.error || {};
    shownRefusal = item;
    var outside = error.code === "outside_geofence" && item.kind === "check_in";
    refusedText.textContent = outside
      ? fill(T.outside, { distance: Math.round(error.distance_m), limit: error.geofence_m })
      : [error.message].concat(Object.keys(error.fields || {}).map(function (name) {
          return name + ": " + error.fields[name].join(" ");
        })).join(" ");
    reasonBox.hidden = !outside;
    refusedBox.hidden = false;
  }

  /* The attempts this job still has on the phone, and the first refusal not yet read. */
  function render() {
    return Queue.all().then(function (items) {
      var mine = items.filter(function (item) { return item.job === config.job; });
      waitingList.textContent = "";
      mine.filter(function (item) { return item.state !== "refused"; }).forEach(function (item) {
        var li = document.createElement("li");
        li.className = "waiting-item";
        li.dataset.key = item.key;
        li.textContent = fill(item.why === "signed_out" ? T.signed_out : T.waiting, {
          kind: T[item.kind], time: clock(item.body.client_at)
        });
        waitingList.appendChild(li);
      });
      var refused = mine.filter(function (item) { return item.state === "refused"; });
      if (refused.length) {
        showRefusal(refused[0]);
      } else {
        shownRefusal = null;
        refusedBox.hidden = true;
      }
      if (mine.length) { say(""); }
    });
  }

  /* One attempt: kept on the phone first, then sent. */
  function attempt(kind, body) {
    var item = {
      key: newKey(),
      kind: kind,
      job: config.job,
      url: config.urls[kind],
      csrf: config.csrf,
      body: body,
      state: "new",
      made: Date.now()
    };
    say(T.sending);
    return Queue.put(item)
      .then(function () { return Queue.send(item, config.csrf); })
      .then(show)
      .finally(function () { buttons(true); });
  }

  function tap(kind) {
    var extra = {};
    if (kind === "check_out") {
      var outcome = document.getElementById("welfare-outcome");
      if (outcome && !outcome.value) { say(T.choose_outcome, "refused"); return; }
      if (outcome) { extra.welfare_outcome = outcome.value; }
    }
    buttons(false);
    say(T.locating);
    locate().then(function (position) {
      var body = {
        location: { type: "Point", coordinates: [position.coords.longitude, position.coords.latitude] },
        crs: "wgs84",  // the browser's Geolocation API gives WGS-84
        client_at: new Date().toISOString()
      };
      Object.keys(extra).forEach(function (name) { body[name] = extra[name]; });
      return attempt(kind, body);
    }, function (error) {
      say(error && error.code === 1 ? T.position_denied : T.position_unavailable, "refused");
      buttons(true);
    });
  }

  /* Outside the geofence: the same position and time again, with the reason, as a new tap. */
  function again() {
    var refused = shownRefusal;
    if (!refused) { return; }
    var body = JSON.parse(JSON.stringify(refused.body));
    body.exception_reason = document.getElementById("exception-reason").value;
    buttons(false);
    Queue.drop(refused.key).then(function () { return attempt(refused.kind, body); });
  }

  function dismiss() {
    if (!shownRefusal) { return; }
    Queue.drop(shownRefusal.key).then(render);
  }

  function flush() {
    if (flushing) { return Promise.resolve(); }
    flushing = true;
    return Queue.flush(config.csrf)
      .then(function (results) { results.forEach(show); })
      .catch(function () { /* IndexedDB unavailable: nothing kept to send */ })
      .finally(function () { flushing = false; render(); });
  }

  /* The attempts kept on the phone take this page's token: the service worker sends them with
   * it (a new sign-in makes a new one). */
  function refreshTokens() {
    return Queue.all().then(function (items) {
      return Promise.all(items.filter(function (item) { return item.csrf !== config.csrf; })
        .map(function (item) { item.csrf = config.csrf; return Queue.put(item); }));
    });
  }

  document.querySelectorAll("[data-visit]").forEach(function (button) {
    button.addEventListener("click", function () { tap(button.dataset.visit); });
  });
  document.querySelector("[data-visit-again]").addEventListener("click", again);
  document.querySelector("[data-visit-dismiss]").addEventListener("click", dismiss);
  window.addEventListener("online", flush);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === SYNC_TAG) { event.data.results.forEach(show); }
    });
  }
  setInterval(function () {
    Queue.all().then(function (items) {
      if (items.some(function (item) { return item.state !== "refused"; })) { flush(); }
    });
  }, config.retry_every_ms);

  var done = sessionStorage.getItem(DONE_KEY);
  if (done) {
    sessionStorage.removeItem(DONE_KEY);
    say(done, "done");
  }
  refreshTokens().then(flush, render);
})();
