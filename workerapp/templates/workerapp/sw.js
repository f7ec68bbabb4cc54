/* The worker app's service worker (scope /worker/). It keeps the app shell only: the
 * stylesheet, the scripts and the icons. Pages and API answers always go to the network and are
 * never stored: they hold the worker's and the elders' data.
 *
 * It also sends the check-ins and check-outs the phone kept while it could not deliver them
 * (visit-queue.js, IndexedDB), only the signed-in worker's (the pages say who that is): on
 * Background Sync where the browser has it, and whenever the service worker starts; the pages
 * open are told what was sent or refused. */
"use strict";

const SHELL = {{ shell|safe }};
const CACHE = "anxin-worker-shell-" + {{ version|safe }};
const SYNC_TAG = "anxin-visits";

importScripts({{ queue_script|safe }});

/* Send what waits; tell the open pages. Rejects while something still waits, so the browser
 * runs the sync again later. */
function sendKept() {
  return self.AnxinVisitQueue.flush().then(function (results) {
    const answered = results.filter(function (r) { return r.state !== "waiting"; });
    const told = answered.length ? self.clients.matchAll({ type: "window" }).then(function (pages) {
      pages.forEach(function (page) { page.postMessage({ type: SYNC_TAG, results: answered }); });
    }) : Promise.resolve();
    return told.then(function () {
      if (results.some(function (r) { return r.state === "waiting"; })) {
        throw new Error("visits still waiting for the connection");
      }
    });
  });
}

self.addEventListener("sync", function (event) {
  if (event.tag === SYNC_TAG) { event.waitUntil(sendKept()); }
});

sendKept().catch(function () { /* the page's retries, or the next sync, go on */ });

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("anxin-worker-shell-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") { return; }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || SHELL.indexOf(url.pathname) === -1) { return; }
  event.respondWith(
    caches.match(request).then(function (kept) { return kept || fetch(request); })
  );
});
