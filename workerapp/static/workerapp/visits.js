/* Every worker app page: sends the check-ins and check-outs the phone keeps (visit-queue.js) for
 * the signed-in worker: on load, when the browser says it is online, every few seconds while
 * any is due, and when the service worker says it sent some. Where the page has the card
 * #visits-kept (home), it lists them: waiting, with why in words, and refused, with the server's
 * reason, to be read and dismissed (a job the worker can no longer open cannot show its own).
 * At sign-out it warns while any waits, and says nobody is signed in any more, so the next
 * worker on a shared phone never sends this one's. The job page (visit.js) makes attempts
 * through `AnxinVisits`. Settings and sentences: the JSON block #visits-config (no inline
 * script: the CSP). */
(function () {
  "use strict";

  var Queue = window.AnxinVisitQueue;
  var block = document.getElementById("visits-config");
  if (!Queue || !block) { return; }
  var config = JSON.parse(block.textContent);
  var T = config.texts;
  var SYNC_TAG = "anxin-visits";
  var listeners = [];
  var flushing = false;

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  }

  function clock(iso) {
    var at = new Date(iso);
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return two(at.getHours()) + ":" + two(at.getMinutes());
  }

  /* An attempt in words: what, for which job, when the phone made it, and where it stands. */
  function describe(item) {
    var what = fill(T.item, { job: item.label || "", kind: T[item.kind], time: clock(item.body.client_at) });
    var where = item.state === "refused" ? fill(T.refused, { reason: item.error.message }) : T["why_" + item.why] || T.why_offline;
    return what + " " + where;
  }

  function mine() {
    return config.user === null ? Promise.resolve([]) : Queue.of(config.user);
  }

  /* Tell the page's parts (the job page, the home card) what changed. */
  function changed(results) {
    return mine().then(function (items) {
      renderCard(items);
      listeners.forEach(function (listener) { listener(results || [], items); });
    }, function () { /* IndexedDB unavailable: nothing kept to show */ });
  }

  function renderCard(items) {
    var card = document.getElementById("visits-kept");
    if (!card) { return; }
    var list = card.querySelector("ul");
    list.textContent = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.className = "kept-item " + item.state;
      li.dataset.key = item.key;
      var text = document.createElement("span");
      text.textContent = describe(item);
      li.appendChild(text);
      if (item.state === "refused") {
        var ok = document.createElement("button");
        ok.type = "button";
        ok.textContent = T.dismiss;
        ok.addEventListener("click", function () { dismiss(item.key); });
        li.appendChild(ok);
      }
      list.appendChild(li);
    });
    card.hidden = !items.length;
  }

  function dismiss(key) {
    return Queue.drop(key).then(function () { return changed([]); });
  }

  /* The background sync the service worker answers (where the browser has it). */
  function askForSync() {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.sync) { return registration.sync.register(SYNC_TAG); }
    }).catch(function () { /* no Background Sync: the pages' own retries go on */ });
  }

  function settled(results) {
    if (results.some(function (r) { return r.state === "waiting"; })) { askForSync(); }
    return changed(results);
  }

  function flush() {
    if (flushing || config.user === null) { return Promise.resolve(); }
    flushing = true;
    return Queue.flush(config.csrf)
      .then(settled, function () { /* IndexedDB unavailable: nothing kept to send */ })
      .finally(function () { flushing = false; });
  }

  /* One attempt (a tap on the job page): kept on the phone first, then sent. Where the phone
   * cannot keep it (IndexedDB unavailable: private mode, some in-app browsers) it is sent
   * once, directly: the result says `unkept`. */
  function attempt(fields) {
    var item = {
      key: newKey(),
      user: config.user,
      csrf: config.csrf,
      state: "new",
      made: Date.now()
    };
    Object.keys(fields).forEach(function (name) { item[name] = fields[name]; });
    return Queue.put(item).then(function () {
      return Queue.send(item, config.csrf).then(function (result) {
        return settled([result]).then(function () { return result; });
      });
    }, function () {
      return Queue.send(item, config.csrf, true).then(function (result) {
        result.unkept = true;
        return result;
      });
    });
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  /* The attempts kept for this worker take this page's token: the service worker sends them
   * with it (a new sign-in makes a new one). */
  function refreshTokens() {
    return mine().then(function (items) {
      return Promise.all(items.filter(function (item) { return item.csrf !== config.csrf; })
        .map(function (item) { item.csrf = config.csrf; return Queue.put(item); }));
    });
  }

  /* Sign-out: a warning while attempts wait, then nobody is signed in on this phone. */
  function guardSignOut(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      mine().catch(function () { return []; }).then(function (items) {
        var waiting = items.filter(function (item) { return item.state !== "refused"; });
        if (waiting.length && !window.confirm(fill(T.sign_out_waiting, { count: waiting.length }))) {
          return;
        }
        Queue.signIn(null).catch(function () { /* nothing kept */ }).then(function () { form.submit(); });
      });
    });
  }

  document.querySelectorAll('form[action="' + config.sign_out_url + '"]').forEach(guardSignOut);
  window.addEventListener("online", flush);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === SYNC_TAG) { changed(event.data.results); }
    });
  }
  setInterval(function () {
    mine().then(function (items) {
      var now = Date.now();
      if (items.some(function (item) { return Queue.due(item, now); })) { flush(); }
    }, function () { /* IndexedDB unavailable */ });
  }, config.retry_every_ms);

  window.AnxinVisits = {
    texts: T,
    user: config.user,
    attempt: attempt,
    dismiss: dismiss,
    describe: describe,
    items: mine,
    listen: function (listener) { listeners.push(listener); },
    refresh: function () { return changed([]); }
  };

  Queue.signIn(config.user)
    .then(refreshTokens)
    .then(flush, function () { /* IndexedDB unavailable */ })
    .finally(function () { changed([]); });
})();
