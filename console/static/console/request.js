/* The request panel, on its way: a panel rendered just before its request changed arrives after
 * the page heard of the change (the event came first), and console.js refreshes only what is on
 * the page. So the page keeps, for each request, the newest event id it heard of; a panel that
 * arrives showing an older one (`data-last-event`, read before anything else when it was
 * rendered) asks for itself again. Events of one request are written under its row lock, so
 * their ids grow in the order they happen. */
(function () {
  "use strict";

  var newest = new Map(); // "request:42" -> the highest event id heard of about it

  // Which requests an event is about: the same subjects console.js follows.
  function subjectsOf(msg) {
    var data = msg.data || {}, out = [];
    if (data.subject) out.push(data.subject.type + ":" + data.subject.id);
    if (data.request) out.push("request:" + data.request);
    if (data.request_id) out.push("request:" + data.request_id);
    return out;
  }

  document.addEventListener("anxin:event", function (e) {
    var id = e.detail.id;
    subjectsOf(e.detail).forEach(function (subject) {
      if (!(newest.get(subject) >= id)) newest.set(subject, id);
    });
  });

  document.addEventListener("htmx:load", function (e) {
    var root = e.detail.elt;
    if (!root || !root.querySelectorAll) return;
    var panels = Array.from(root.querySelectorAll("[data-last-event][data-refresh-subject]"));
    if (root.matches("[data-last-event][data-refresh-subject]")) panels.push(root);
    panels.forEach(function (el) {
      var heard = newest.get(el.dataset.refreshSubject);
      if (heard && heard > Number(el.dataset.lastEvent || 0) && window.Anxin) window.Anxin.refresh(el);
    });
  });
})();
