/* The worker app's visits not yet answered by the server: each check-in or check-out is kept in
 * IndexedDB (its body with the phone's time and position, and its Idempotency-Key, made once per
 * tap) from the moment it is made until the server answers it, and sent again while it cannot
 * be delivered. Shared by the page (visit.js) and the service worker (sw.js, importScripts).
 *
 * What ends an attempt: a 2xx (sent: dropped), or a definitive refusal, any other 4xx or a 500
 * (kept as `refused` with the server's error until the worker has read it). Kept `waiting` and
 * sent again: no answer at all (the network), a gateway's 502/503/504, and a 403 of a session
 * that ended (sign in again). The same key makes the server count it once however often it
 * arrives (backend/core/idempotency.py). */
(function (root) {
  "use strict";

  var DB_NAME = "anxin-worker";
  var STORE = "visits";
  var RETRIED = [502, 503, 504];

  function open() {
    return new Promise(function (resolve, reject) {
      var request = root.indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  /* One transaction on the store: `work(store)` may return a request whose result is wanted. */
  function inStore(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var asked = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(asked ? asked.result : undefined); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function all() {
    return inStore("readonly", function (store) { return store.getAll(); });
  }

  function put(item) {
    return inStore("readwrite", function (store) { store.put(item); });
  }

  function drop(key) {
    return inStore("readwrite", function (store) { store.delete(key); });
  }

  function waiting(item, why) {
    item.state = "waiting";
    item.why = why;
    item.tries = (item.tries || 0) + 1;
    item.lastTry = Date.now();
    return put(item).then(function () { return { item: item, state: "waiting" }; });
  }

  function sessionEnded(status, error) {
    if (status !== 403) { return false; }
    var message = String(error.message || "");
    return error.code === "not_authenticated" || message.indexOf("CSRF") === 0;
  }

  /* What the server's answer means for the attempt; returns {item, state, answer}. */
  function settle(item, status, data) {
    if (status >= 200 && status < 300) {
      return drop(item.key).then(function () { return { item: item, state: "sent", answer: data }; });
    }
    if (RETRIED.indexOf(status) !== -1) { return waiting(item, "offline"); }
    var error = (data && data.error) || { message: String(status) };
    if (sessionEnded(status, error)) { return waiting(item, "signed_out"); }
    item.state = "refused";
    item.status = status;
    item.error = error;
    return put(item).then(function () { return { item: item, state: "refused" }; });
  }

  /* Post one attempt, with `csrf` (the page's current token) or the one kept with it. */
  function send(item, csrf) {
    var init = {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Idempotency-Key": item.key,
        "X-CSRFToken": csrf || item.csrf
      },
      body: JSON.stringify(item.body)
    };
    return root.fetch(item.url, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return settle(item, response.status, data);
      });
    }, function () { return waiting(item, "offline"); });
  }

  /* Send every attempt still waiting (and any a closed page left unsent), one after another. */
  function flush(csrf) {
    return all().then(function (items) {
      return items.filter(function (item) { return item.state !== "refused"; })
        .reduce(function (done, item) {
          return done.then(function (results) {
            return send(item, csrf).then(function (result) { return results.concat([result]); });
          });
        }, Promise.resolve([]));
    });
  }

  root.AnxinVisitQueue = { all: all, put: put, drop: drop, send: send, flush: flush };
})(self);
