/* The call panel's small behaviours (console/templates/console/call/):
 * - the screen pop: a call that starts ringing or waiting opens its panel in an idle workspace
 *   (nothing open there), so the operator sees who is calling before taking it;
 * - Enter on the request form's service list creates the request (its inputs do natively);
 * - the panel's Close button (Esc) empties the workspace;
 * - choosing among elders who share a number marks the one shown.
 * Everything else is htmx: the call's header follows the call's events (`data-refresh-on`). */
(function () {
  "use strict";

  var gettext = window.gettext || function (s) { return s; };

  function workspace() { return document.getElementById("workspace"); }

  document.addEventListener("anxin:event", function (e) {
    var msg = e.detail || {};
    if (msg.type !== "call.ringing" && msg.type !== "call.queued") return;
    if (!msg.live) return; // caught up from the feed after a reconnect: the queue shows it
    var space = workspace();
    var subject = msg.data && msg.data.subject;
    if (!space || !subject || !window.htmx) return;
    if (space.querySelector("[data-panel]") || space.contains(document.activeElement)) return;
    window.htmx.ajax("GET", "/console/call/?call=" + encodeURIComponent(subject.id), {
      target: space, swap: "innerHTML"
    });
  });

  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || e.ctrlKey || e.altKey || e.metaKey || e.shiftKey || e.isComposing) return;
    var el = e.target;
    if (el.tagName !== "SELECT" || !el.form || !el.form.hasAttribute("data-enter-submits")) return;
    e.preventDefault();
    el.form.requestSubmit();
  });

  document.addEventListener("click", function (e) {
    var close = e.target.closest && e.target.closest("[data-close-panel]");
    if (close) {
      var space = workspace();
      if (!space) return;
      var idle = document.createElement("p");
      idle.className = "muted";
      idle.textContent = gettext("Take an item from the queue, or type a caller's number.");
      space.replaceChildren(idle);
      var dial = document.getElementById("dial-number");
      if (dial) dial.focus();
      return;
    }
    var card = e.target.closest && e.target.closest(".elder-card");
    if (card) {
      document.querySelectorAll(".elder-card").forEach(function (other) {
        other.setAttribute("aria-pressed", other === card ? "true" : "false");
      });
    }
  });
})();
