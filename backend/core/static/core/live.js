/* The live link every signed-in page shares (the console, the family page, the worker app):
 * - one WebSocket (/ws/, a one-time ticket fetched with the session), reconnected with a
 *   back-off, watched with pings; after every connect the events feed is read from the cursor
 *   the page was rendered with (`data-events-after`), so nothing that happened while it was
 *   down is missed;
 * - every event is dispatched as `anxin:event` on document (`detail.live`: pushed rather than
 *   read from the feed), each other push (no id: a distance, the map's positions, a reply) as
 *   `anxin:<type>`; `anxin:connected` and `anxin:reconnected` when the link comes (back);
 * - fragments that follow an event refresh themselves: `data-refresh-on` (type prefixes) and
 *   `data-refresh-subject` (e.g. "request:42"), one request at a time per fragment however
 *   many events arrive; a failed refresh keeps what it showed and tries again;
 * - `[data-distance-for]` elements show how far a worker on the way still is (pushed).
 * Starts on a page whose body names `data-ticket-url` and that has the `#link` status element.
 * `window.AnxinLive`: {csrf, refresh, refreshAll, send(message) -> bool, open() -> bool}.
 * Nothing here polls: the page asks the server only when told something changed. */
(function () {
  "use strict";

  var body = document.body;
  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (fmt, args) { return fmt + " " + args.join(" "); };
  if (!body.dataset.ticketUrl || !document.getElementById("link")) return; // a sign-in page

  var csrf = (JSON.parse(body.getAttribute("hx-headers") || "{}"))["X-CSRFToken"] ||
    body.dataset.csrf;
  var after = body.dataset.eventsAfter ? Number(body.dataset.eventsAfter) : null;
  var link = document.getElementById("link");
  var seen = new Set();
  var SEEN_KEPT = 5000;

  function setLink(state, text) {
    link.dataset.state = state;
    link.textContent = text;
    body.classList.toggle("offline", state === "lost");
  }

  /* ---- fragments that follow the live state ---- */
  // One request in flight per fragment (by id), and at most one more after it, however many
  // events arrive. A request that ends any way (answered, refused, aborted because its element
  // was replaced, timed out), or that gives no sign for 10 s, lets the next one go.
  var inFlight = new Map(); // element id -> {again, timer}
  var wanted = new Set(); // ids whose replacement refreshes once htmx has set it up (htmx:load)
  function settle(key, asker) {
    var state = inFlight.get(key);
    if (!state) return;
    inFlight.delete(key);
    clearTimeout(state.timer);
    if (!state.again) return;
    var now = document.getElementById(key);
    if (now && now === asker) {
      setTimeout(function () { refresh(now); }, 0);
    } else {
      wanted.add(key); // replaced (or about to be): the new element is not set up yet
    }
  }
  function refresh(el) {
    var key = el.id;
    // Just swapped in and not set up by htmx yet (it has no `refresh` listener until then):
    // asked again as soon as it is (htmx:load).
    if (key && el.closest(".htmx-added")) { wanted.add(key); return; }
    if (key) {
      var state = inFlight.get(key);
      if (state) { state.again = true; return; }
      inFlight.set(key, { again: false, timer: setTimeout(function () { settle(key, el); }, 10000) });
    }
    if (window.htmx) window.htmx.trigger(el, "refresh");
  }
  function ended(e) {
    // The element that asked: after an outerHTML swap htmx announces the end on a parent
    // (detail.elt), but the request's own config still names it.
    var config = e.detail.requestConfig;
    var el = (config && config.elt) || e.detail.elt;
    if (el && el.id) settle(el.id, el);
  }
  ["htmx:afterRequest", "htmx:sendAbort", "htmx:sendError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, ended);
  });
  // A live fragment whose refresh failed (the server's 5xx, a proxy's 502, no network) keeps
  // what it showed, says it is out of date, and tries again with a back-off: an error page
  // never replaces the queue or a panel, and nothing waits for the next event to recover.
  var failures = new Map(); // element id -> failed attempts in a row
  function isRefresh(e) {
    var config = e.detail.requestConfig;
    return config && config.triggeringEvent && config.triggeringEvent.type === "refresh" && config.elt;
  }
  function refreshFailed(el) {
    if (!el.id) return;
    var n = (failures.get(el.id) || 0) + 1;
    failures.set(el.id, n);
    var shown = document.getElementById(el.id);
    if (shown && !shown.querySelector(":scope > .stale-note")) {
      var note = document.createElement("p");
      note.className = "notice error stale-note";
      note.setAttribute("role", "status");
      note.textContent = gettext("Could not bring this up to date: trying again…");
      shown.prepend(note);
    }
    setTimeout(function () {
      var now = document.getElementById(el.id);
      if (now) refresh(now);
    }, Math.min(30000, 1000 * Math.pow(2, n)));
  }
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (!isRefresh(e)) {
      // An action's 5xx is shown where its answer goes; a live fragment there comes back.
      var target = e.detail.target;
      if (e.detail.xhr.status >= 500 && target && target.matches("[data-refresh-on]")) {
        refreshFailed(target);
      }
      return;
    }
    var el = e.detail.requestConfig.elt;
    if (e.detail.xhr.status >= 500) {
      e.detail.shouldSwap = false;
      refreshFailed(el);
    } else {
      failures.delete(el.id);
    }
  });
  document.addEventListener("htmx:sendError", function (e) {
    if (isRefresh(e)) refreshFailed(e.detail.requestConfig.elt);
  });
  // A fragment replaced by another answer (an action's) while its own request was in flight:
  // htmx drops that request's answer without a word, so it ends here.
  document.addEventListener("htmx:beforeCleanupElement", function (e) {
    var el = e.detail.elt;
    if (el && el.id && inFlight.has(el.id)) settle(el.id, el);
  });
  function subjectsOf(msg) {
    var data = msg.data || {}, out = [];
    if (data.subject) out.push(data.subject.type + ":" + data.subject.id);
    if (data.request) out.push("request:" + data.request);
    if (data.request_id) out.push("request:" + data.request_id);
    return out;
  }
  function follows(el, msg) {
    var prefixes = (el.dataset.refreshOn || "").split(/\s+/).filter(Boolean);
    if (!prefixes.some(function (p) { return msg.type.indexOf(p) === 0; })) return false;
    var subject = el.dataset.refreshSubject;
    return !subject || subjectsOf(msg).indexOf(subject) >= 0;
  }
  function refreshFor(msg) {
    subjectsOf(msg).forEach(function (subject) {
      if (!(newest.get(subject) >= msg.id)) newest.set(subject, msg.id);
    });
    document.querySelectorAll("[data-refresh-on]").forEach(function (el) {
      if (follows(el, msg)) refresh(el);
    });
  }
  // A fragment rendered just before its subject changed can arrive after the page heard of the
  // change. The page keeps the newest event id it heard of each subject; a fragment that says
  // which event it reflects (`data-last-event`, read first when it was rendered) and is older
  // asks for itself again. A subject's events are written under its row's lock, so their ids
  // grow in the order things happen to it.
  var newest = new Map(); // "request:42" -> the highest event id heard of about it
  document.addEventListener("htmx:load", function (e) {
    var root = e.detail.elt;
    if (!root || !root.querySelectorAll) return;
    var fragments = Array.from(root.querySelectorAll("[data-last-event][data-refresh-subject]"));
    if (root.matches("[data-last-event][data-refresh-subject]")) fragments.push(root);
    fragments.forEach(function (el) {
      var heard = newest.get(el.dataset.refreshSubject);
      if (heard && heard > Number(el.dataset.lastEvent || 0)) refresh(el);
    });
    if (wanted.size) {
      [root].concat(Array.from(root.querySelectorAll("[id][data-refresh-on]"))).forEach(function (el) {
        if (el.id && wanted.delete(el.id)) refresh(el);
      });
    }
  });
  function refreshAll() {
    document.querySelectorAll("[data-refresh-on]").forEach(refresh);
  }


  /* ---- events: pushed (live), or read from the feed ---- */
  var catchUpSoon = null;
  function handle(msg, live) {
    if (!msg || typeof msg.type !== "string") return;
    if (msg.id === undefined || msg.id === null) {
      // Not an event (a position, a distance, a reply): nothing to catch up, told as it is.
      document.dispatchEvent(new CustomEvent("anxin:" + msg.type, { detail: msg }));
      return;
    }
    if (seen.has(msg.id)) return; // a push and the feed may both bring it
    seen.add(msg.id);
    if (seen.size > SEEN_KEPT) seen.delete(seen.values().next().value);
    msg.live = !!live;
    document.dispatchEvent(new CustomEvent("anxin:event", { detail: msg }));
    refreshFor(msg);
    // The feed's cursor moves only as the feed is read: read it a little after pushes, so a
    // reconnect starts near where the page is (events already handled are skipped).
    if (live && !catchUpSoon) {
      catchUpSoon = setTimeout(function () {
        catchUpSoon = null;
        catchUp().catch(function () {});
      }, 5000);
    }
  }

  function signedOut() { window.location.href = body.dataset.signInUrl + "?next=" + encodeURIComponent(location.pathname); }

  function catchUp() {
    var url = new URL(body.dataset.eventsUrl, window.location.href);
    if (after !== null) url.searchParams.set("after", String(after));
    url.searchParams.set("limit", "200");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) { signedOut(); throw new Error("signed out"); }
        if (!r.ok) throw new Error("feed " + r.status);
        return r.json();
      })
      .then(function (page) {
        page.events.forEach(function (msg) { handle(msg, false); });
        if (page.next_after !== null && page.next_after !== undefined) after = page.next_after;
        if (page.events.length === 200) return catchUp();
      });
  }

  var socket = null, attempts = 0, connectedOnce = false, pingTimer = null, pongDue = null;
  function ticket() {
    return fetch(body.dataset.ticketUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    }).then(function (r) {
      if (r.status === 401 || r.status === 403) { signedOut(); throw new Error("signed out"); }
      if (!r.ok) throw new Error("ticket " + r.status);
      return r.json();
    }).then(function (answer) { return answer.ticket; });
  }
  function later() {
    attempts += 1;
    var wait = Math.min(10000, 500 * Math.pow(2, attempts)) * (0.75 + Math.random() / 2);
    setLink("lost", interpolate(gettext("Connection lost: reconnecting in %s s…"), [Math.ceil(wait / 1000)]));
    setTimeout(connect, wait);
  }
  function connect() {
    setLink(connectedOnce ? "lost" : "connecting", connectedOnce ? gettext("Reconnecting…") : gettext("Connecting…"));
    ticket().then(function (token) {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + window.location.host + "/ws/?ticket=" + encodeURIComponent(token));
      socket.onopen = function () {
        attempts = 0;
        var again = connectedOnce;
        connectedOnce = true;
        setLink("live", gettext("Live"));
        startPings();
        document.dispatchEvent(new CustomEvent("anxin:connected"));
        catchUp().then(function () {
          if (again) {
            refreshAll();
            document.dispatchEvent(new CustomEvent("anxin:reconnected"));
          }
        }).catch(function () { if (again) refreshAll(); });
      };
      socket.onmessage = function (e) {
        var msg;
        try { msg = JSON.parse(e.data); } catch (err) { return; }
        if (msg.type === "pong") { pongDue = null; return; }
        pongDue = null; // anything heard proves the link
        handle(msg, true);
      };
      socket.onclose = function () {
        stopPings();
        socket = null;
        later();
      };
    }).catch(function (err) {
      if (String(err.message) !== "signed out") later();
    });
  }
  function startPings() {
    stopPings();
    pingTimer = setInterval(function () {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      if (pongDue && Date.now() > pongDue) { socket.close(); return; } // half-open: start again
      socket.send(JSON.stringify({ type: "ping" }));
      if (!pongDue) pongDue = Date.now() + 10000;
    }, 15000);
  }
  function stopPings() { clearInterval(pingTimer); pingTimer = null; pongDue = null; }
  window.addEventListener("online", function () { if (socket) socket.close(); });
  connect();

  /* ---- how far the worker is while on the way (dispatch/en_route.py) ----
   * `[data-distance-for="<request id>"]` shows the distance pushed as the worker's phone
   * reports its position (not an event: the next one replaces it), in its `.far` child, and
   * when in its `time` child; rendered with `data-distance-m` and `data-distance-at` from the
   * last-known position, written here too so that both read the same. */
  function showDistance(el, metres, at) {
    var when = new Date(at);
    el.hidden = false;
    var far = el.querySelector(".far"), time = el.querySelector("time");
    if (far) {
      far.textContent = metres < 1000
        ? interpolate(gettext("About %s m away"), [Math.round(metres / 10) * 10])
        : interpolate(gettext("About %s km away"), [(metres / 1000).toFixed(1)]);
    }
    if (time && !isNaN(when)) {
      time.setAttribute("datetime", at);
      // In the service area's time zone (the page's), whatever the phone's.
      time.textContent = when.toLocaleTimeString("en-GB", {
        timeZone: el.dataset.timeZone || undefined, hour: "2-digit", minute: "2-digit", hour12: false,
      });
    }
  }
  function renderedDistances(root) {
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll("[data-distance-for][data-distance-m]").forEach(function (el) {
      showDistance(el, Number(el.dataset.distanceM), el.dataset.distanceAt);
    });
  }
  renderedDistances(document);
  document.addEventListener("htmx:load", function (e) { renderedDistances(e.detail.elt); });
  document.addEventListener("anxin:request.distance", function (e) {
    var data = e.detail.data || {};
    document.querySelectorAll('[data-distance-for="' + data.request + '"]').forEach(function (el) {
      showDistance(el, data.distance_m, data.at);
    });
  });

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }
  function open() { return !!socket && socket.readyState === WebSocket.OPEN; }
  window.AnxinLive = { csrf: csrf, refresh: refresh, refreshAll: refreshAll, send: send, open: open };
})();
