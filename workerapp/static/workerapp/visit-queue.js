/* The worker app's visits not yet answered by the server: each check-in or check-out is kept in
 * IndexedDB (its body with the phone's time and position, its Idempotency-Key made once per tap,
 * the worker it belongs to, and the job's service and time for the home page) from the moment it
 * is made until the server answers it, and sent again while it cannot be delivered. Shared by
 * the pages (visits.js, visit.js) and the service worker (sw.js, importScripts).
 *
 * Only the signed-in worker's attempts are sent: the pages write who is signed in (`session`
 * store) and clear it at sign-out, so on a shared phone one worker's check-in is never sent
 * under the next one's session.
 *
 * What ends an attempt: the server's own answer, JSON from the posted address (no redirect
 * followed: a captive portal's or a carrier's page is not an answer), either the visit it made
 * (sent: dropped) or a definitive refusal in the error shape (400, 404, 409, 422, and a 403
 * that is not the session ending: kept as `refused` until the worker has read it). Kept
 * `waiting` and sent again under the same key, with a growing pause: no answer, an answer that
 * is not the server's, a 500 (the server rolled it back), 408, 429 (after its Retry-After) and
 * a gateway's 502/503/504; a 403 of a session that ended waits for a new sign-in. The same key
 * makes the server count it once however often it arrives (backend/core/idempotency.py). */
(function (root) {
  "use strict";

  var DB_NAME = "anxin-worker";
  var STORE = "visits";
  var SESSION = "session";
  var RETRIED = [408, 429, 500, 502, 503, 504];
  var DEFINITIVE = [400, 403, 404, 409, 422];
  var PAUSE_MS = 5000;  // the first pause after an answer that asks to try again; doubled each time
  var MOST_PAUSE_MS = 5 * 60 * 1000;
  // What the server answers for an attempt it carried out (dispatch/api/serializers.py
  // CheckInOutput, CheckOutOutput).
  var ANSWERED = {
    check_in: function (data) { return typeof data.visit === "number" && typeof data.checked_in_at === "string"; },
    check_out: function (data) { return typeof data.visit === "number" && typeof data.checked_out_at === "string"; }
  };

  function open() {
    return new Promise(function (resolve, reject) {
      if (!root.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var request = root.indexedDB.open(DB_NAME, 2);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains(STORE)) { db.createObjectStore(STORE, { keyPath: "key" }); }
        if (!db.objectStoreNames.contains(SESSION)) { db.createObjectStore(SESSION, { keyPath: "id" }); }
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
      request.onblocked = function () { reject(new Error("IndexedDB blocked")); };
    });
  }

  /* One transaction on a store: `work(store)` may return a request whose result is wanted. */
  function inStore(name, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode);
        var asked = work(tx.objectStore(name));
        tx.oncomplete = function () { db.close(); resolve(asked ? asked.result : undefined); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function all() {
    return inStore(STORE, "readonly", function (store) { return store.getAll(); });
  }

  function put(item) {
    return inStore(STORE, "readwrite", function (store) { store.put(item); });
  }

  function drop(key) {
    return inStore(STORE, "readwrite", function (store) { store.delete(key); });
  }

  /* Who is signed in on this phone (null: nobody), as the last page said. */
  function signedIn() {
    return inStore(SESSION, "readonly", function (store) { return store.get("current"); })
      .then(function (kept) { return kept ? kept.user : null; });
  }

  function signIn(user) {
    return inStore(SESSION, "readwrite", function (store) { store.put({ id: "current", user: user }); });
  }

  /* The attempts of `user` (waiting and refused). */
  function of(user) {
    return all().then(function (items) {
      return items.filter(function (item) { return user !== null && item.user === user; });
    });
  }

  function due(item, now) {
    return item.state !== "refused" && !(item.notBefore > now);
  }

  /* Milliseconds a Retry-After header asks for (seconds or an HTTP date), or 0. */
  function retryAfter(value) {
    if (!value) { return 0; }
    var seconds = Number(value);
    if (!isNaN(seconds)) { return Math.max(0, seconds * 1000); }
    var at = Date.parse(value);
    return isNaN(at) ? 0 : Math.max(0, at - Date.now());
  }

  /* Kept to be sent again: `why` says why in words on the page; `pauseMs` (an answer that was not
   * the visit) makes it wait before the next try, longer each time. */
  function waiting(item, why, store, pauseMs) {
    item.state = "waiting";
    item.why = why;
    item.tries = (item.tries || 0) + 1;
    item.lastTry = Date.now();
    if (pauseMs === undefined) {
      item.pauses = 0;
      item.notBefore = 0;
    } else {
      item.pauses = (item.pauses || 0) + 1;
      var backOff = Math.min(MOST_PAUSE_MS, PAUSE_MS * Math.pow(2, item.pauses - 1));
      item.notBefore = item.lastTry + Math.max(backOff, pauseMs);
    }
    return store.put(item).then(function () { return { item: item, state: "waiting" }; });
  }

  /* The server's own error shape (backend/core/errors.py). */
  function serversError(data) {
    var error = data && data.error;
    return error && typeof error.code === "string" && typeof error.message === "string" ? error : null;
  }

  function sessionEnded(error) {
    return error.code === "not_authenticated" || error.message.indexOf("CSRF") === 0;
  }

  /* What an answer means for the attempt; returns {item, state}. `data` is null unless the
   * answer was JSON from the posted address (`own`: no redirect, JSON). */
  function settle(item, answer, store) {
    var status = answer.status;
    var data = answer.data;
    if (status >= 200 && status < 300) {
      if (answer.own && data && ANSWERED[item.kind](data)) {
        return store.drop(item.key).then(function () { return { item: item, state: "sent", answer: data }; });
      }
      return waiting(item, "not_reached", store, 0);  // a portal's or a carrier's page
    }
    if (RETRIED.indexOf(status) !== -1) {
      return waiting(item, status === 429 ? "busy" : "server", store, retryAfter(answer.retryAfter));
    }
    var error = answer.own ? serversError(data) : null;
    if (!error || DEFINITIVE.indexOf(status) === -1) {
      return waiting(item, "not_reached", store, 0);  // not the server's own refusal
    }
    if (status === 403 && sessionEnded(error)) { return waiting(item, "signed_out", store); }
    item.state = "refused";
    item.status = status;
    item.error = error;
    return store.put(item).then(function () { return { item: item, state: "refused" }; });
  }

  var KEPT = { put: put, drop: drop };
  // For a phone whose IndexedDB cannot be used: the attempt is sent once, kept nowhere.
  var UNKEPT = { put: function () { return Promise.resolve(); }, drop: function () { return Promise.resolve(); } };

  /* Post one attempt with `csrf` (the page's current token) or the one kept with it, and the
   * phone's clock now (X-Client-Sent-At: the server reads the offline gap and the clock's skew
   * from it, dispatch/client_clock.py). `unkept`: IndexedDB is not available. */
  function send(item, csrf, unkept) {
    var store = unkept ? UNKEPT : KEPT;
    var init = {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      redirect: "manual",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Idempotency-Key": item.key,
        "X-CSRFToken": csrf || item.csrf,
        "X-Client-Sent-At": new Date().toISOString()
      },
      body: JSON.stringify(item.body)
    };
    var posted = new URL(item.url, root.location.href).href;
    return root.fetch(item.url, init).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      var own = response.type !== "opaqueredirect" && response.url === posted && json;
      var read = own ? response.json().catch(function () { return null; }) : Promise.resolve(null);
      return read.then(function (data) {
        var answer = { status: response.status, own: own, data: data, retryAfter: response.headers.get("Retry-After") };
        return settle(item, answer, store);
      });
    }, function () { return waiting(item, "offline", store); });
  }

  /* Send the signed-in worker's attempts that are due, one after another. */
  function flush(csrf) {
    return signedIn().then(function (user) {
      return of(user).then(function (items) {
        var now = Date.now();
        return items.filter(function (item) { return due(item, now); })
          .reduce(function (done, item) {
            return done.then(function (results) {
              return send(item, csrf).then(function (result) { return results.concat([result]); });
            });
          }, Promise.resolve([]));
      });
    });
  }

  root.AnxinVisitQueue = {
    all: all, of: of, put: put, drop: drop, send: send, flush: flush, due: due,
    signedIn: signedIn, signIn: signIn
  };
})(self);
