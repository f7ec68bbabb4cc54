/* A job's page: check in and check out from the phone's position and time. One tap is one
 * attempt with its own Idempotency-Key, made and kept through visits.js (AnxinVisits, loaded on
 * every page, which also sends it again until the server has answered). The button stays
 * disabled while this job has an attempt of its kind waiting: a second tap would be a second
 * key. Outside the geofence the server's refusal carries the distance: the page asks for a
 * reason and sends the same position and time again with it. Any other refusal is shown in
 * the server's words. No inline script (the CSP): the page's settings and sentences come from
 * the JSON block #visit-config. */
(function () {
  "use strict";

  var Visits = window.AnxinVisits;
  var block = document.getElementById("visit-config");
  if (!Visits || !block) { return; }
  var config = JSON.parse(block.textContent);
  var T = config.texts;
  var DONE_KEY = "anxin-visit-done";

  var statusLine = document.getElementById("visit-status");
  var waitingList = document.getElementById("visit-waiting");
  var refusedBox = document.getElementById("visit-refused");
  var refusedText = document.getElementById("visit-refused-text");
  var reasonBox = document.getElementById("visit-reason");
  var shownRefusal = null;  // the refused attempt the box shows
  var busy = false;  // between a tap and its first answer
  var pending = {};  // kind -> an attempt of this job waiting to be sent

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  }

  function say(text, kind) {
    statusLine.textContent = text || "";
    statusLine.className = "notice" + (kind ? " " + kind : "");
    statusLine.hidden = !text;
  }

  function buttons() {
    document.querySelectorAll("[data-visit-button]").forEach(function (b) {
      b.disabled = busy || Boolean(b.dataset.visit && pending[b.dataset.visit]);
    });
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

  function showRefusal(item) {
    var error = item.error || {};
    shownRefusal = item;
    var outside = error.code === "outside_geofence" && item.kind === "check_in";
    // The server's message, in the page's language; never the names of its fields.
    refusedText.textContent = outside
      ? fill(T.outside, { distance: Math.round(error.distance_m), limit: error.geofence_m })
      : error.message;
    reasonBox.hidden = !outside;
    refusedBox.hidden = false;
  }

  /* The attempts this job has on the phone, and the first refusal not yet read. */
  function render(items) {
    var ours = items.filter(function (item) { return item.job === config.job; });
    pending = {};
    waitingList.textContent = "";
    ours.filter(function (item) { return item.state !== "refused"; }).forEach(function (item) {
      pending[item.kind] = item;
      var li = document.createElement("li");
      li.className = "waiting-item";
      li.dataset.key = item.key;
      li.textContent = Visits.describe(item);
      waitingList.appendChild(li);
    });
    var refused = ours.filter(function (item) { return item.state === "refused"; });
    if (refused.length) {
      showRefusal(refused[0]);
    } else {
      shownRefusal = null;
      refusedBox.hidden = true;
    }
    if (ours.length && !busy) { say(""); }
    buttons();
  }

  /* What attempts' answers mean on this page. */
  function answered(results, items, note) {
    var sent = results.filter(function (r) { return r.state === "sent" && r.item.job === config.job; });
    if (sent.length) {
      // The page is drawn again to show the job's new state; the notice survives the reload.
      var done = T["done_" + sent[sent.length - 1].item.kind];
      sessionStorage.setItem(DONE_KEY, note ? done + " " + note : done);
      window.location.reload();
      return;
    }
    render(items);
  }

  /* One attempt of this job. Where the phone cannot keep it, it is sent once and the page says
   * so (and, if it did not arrive, that it was not kept). */
  function attempt(kind, body) {
    busy = true;
    buttons();
    say(T.sending);
    return Visits.attempt({ kind: kind, job: config.job, url: config.urls[kind], label: config.label, body: body })
      .then(function (result) {
        busy = false;
        if (!result.unkept) { return Visits.refresh(); }  // drawn from what the phone keeps
        if (result.state === "sent") { answered([result], [], T.not_kept); return; }
        if (result.state === "refused") { render([result.item]); say(T.not_kept, "refused"); return; }
        say(T.not_kept + " " + T.not_sent, "refused");
        buttons();
      }, function () {
        busy = false;
        say(T.not_kept + " " + T.not_sent, "refused");
        buttons();
      });
  }

  function tap(kind) {
    var extra = {};
    if (kind === "check_out") {
      var outcome = document.getElementById("welfare-outcome");
      if (outcome && !outcome.value) { say(T.choose_outcome, "refused"); return; }
      if (outcome) { extra.welfare_outcome = outcome.value; }
    }
    busy = true;
    buttons();
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
      busy = false;
      say(error && error.code === 1 ? T.position_denied : T.position_unavailable, "refused");
      buttons();
    });
  }

  /* Outside the geofence: the same position and time again, with the reason, as a new tap. */
  function again() {
    var refused = shownRefusal;
    if (!refused) { return; }
    var body = JSON.parse(JSON.stringify(refused.body));
    body.exception_reason = document.getElementById("exception-reason").value;
    Visits.dismiss(refused.key).then(function () { return attempt(refused.kind, body); });
  }

  function dismiss() {
    if (!shownRefusal) { return; }
    var key = shownRefusal.key;
    shownRefusal = null;
    refusedBox.hidden = true;
    Visits.dismiss(key).catch(function () { /* kept nowhere: nothing to drop */ });
  }

  document.querySelectorAll("[data-visit]").forEach(function (button) {
    button.addEventListener("click", function () { tap(button.dataset.visit); });
  });
  document.querySelector("[data-visit-again]").addEventListener("click", again);
  document.querySelector("[data-visit-dismiss]").addEventListener("click", dismiss);
  Visits.listen(answered);

  var done = sessionStorage.getItem(DONE_KEY);
  if (done) {
    sessionStorage.removeItem(DONE_KEY);
    say(done, "done");
  }
})();
