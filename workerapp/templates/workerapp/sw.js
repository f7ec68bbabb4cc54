/* The worker app's service worker (scope /worker/). This slice keeps the app shell only: the
 * stylesheet, the script and the icons. Pages and API answers always go to the network and are
 * never stored: they hold the worker's and the elders' data. */
"use strict";

const SHELL = {{ shell|safe }};
const CACHE = "anxin-worker-shell-" + {{ version|safe }};

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
