/* The worker app's script: registers the service worker (the installable shell) and ticks the
 * offers' countdowns. No inline script anywhere (the CSP). */
(function () {
  "use strict";

  var body = document.body;
  if ("serviceWorker" in navigator && body.dataset.swUrl) {
    navigator.serviceWorker.register(body.dataset.swUrl, { scope: body.dataset.swScope })
      .catch(function () { /* over plain HTTP (not localhost) there is none: the app still works */ });
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

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
})();
