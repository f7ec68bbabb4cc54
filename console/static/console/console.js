/* The console's live link and small behaviours (docs/console.md):
 * - one WebSocket (/ws/, a one-time ticket fetched with the session), reconnected with a
 *   back-off, watched with pings; after every connect the events feed is read from the cursor
 *   the page was rendered with, so nothing that happened while it was down is missed;
 * - every event is dispatched as `anxin:event` on document, and refreshes the fragments that
 *   follow it (`data-refresh-on` type prefixes, `data-refresh-subject`), one request at a
 *   time per fragment however many events arrive;
 * - a sound on new alarms (once the browser allows it: a first click), else a flashing banner;
 * - clocks (`time[data-clock]`) ticking every second; keyboard shortcuts (`data-shortcut`).
 * Nothing here polls: the page asks the server only when told something changed. */
(function () {
  "use strict";

  var body = document.body;
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
  var interpolate = window.interpolate || function (fmt, args) { return fmt + " " + args.join(" "); };

  /* ---- clocks: elapsed since, or time left to a target ---- */
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + two(m) : m) + ":" + two(s % 60);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-clock]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      if (el.dataset.clock === "countdown") {
        var left = at - now;
        el.textContent = left >= 0
          ? interpolate(gettext("%s left"), [span(left)])
          : interpolate(gettext("%s over"), [span(left)]);
        el.classList.toggle("overdue", left < 0);
        el.classList.toggle("soon", left >= 0 && left < 60000);
      } else {
        el.textContent = span(now - at);
      }
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSettle", tick);
  tick();

  /* ---- keyboard shortcuts ---- */
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function visible(el) { return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length); }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) {
      if (e.key === "Escape" && typing(e.target)) e.target.blur();
      return;
    }
    var key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (key === "?") { toggleHelp(); e.preventDefault(); return; }
    var focus = Array.prototype.find.call(
      document.querySelectorAll("[data-shortcut-focus]"),
      function (el) { return el.dataset.shortcutFocus === key && visible(el); });
    if (focus) { focus.focus(); e.preventDefault(); return; }
    var target = Array.prototype.find.call(
      document.querySelectorAll("[data-shortcut]"),
      function (el) { return el.dataset.shortcut === key && visible(el) && !el.disabled; });
    if (target) { target.click(); e.preventDefault(); }
  });
  function toggleHelp() {
    var help = document.getElementById("shortcuts");
    if (help) help.hidden = !help.hidden;
  }

  if (!body.dataset.ticketUrl || !document.getElementById("link")) return; // the sign-in page

  var csrf = (JSON.parse(body.getAttribute("hx-headers") || "{}"))["X-CSRFToken"];
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
    window.htmx.trigger(el, "refresh");
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

  /* ---- sound (once allowed) or flashing ---- */
  var audio = null;
  var soundWanted = localStorage.getItem("anxin.sound") === "on";
  var soundButton = document.getElementById("sound");
  var ask = document.getElementById("sound-ask");
  var flash = document.getElementById("flash");
  function soundOn() { return soundWanted && audio && audio.state === "running"; }
  function showSound() {
    soundButton.textContent = soundOn() ? gettext("Sound on") : gettext("Sound off");
    soundButton.setAttribute("aria-pressed", soundOn() ? "true" : "false");
    body.classList.toggle("silent", !soundOn());
  }
  function unlock() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      return audio.resume().then(showSound, showSound);
    } catch (err) { showSound(); return Promise.resolve(); }
  }
  function beep() {
    if (!soundOn()) return false;
    var now = audio.currentTime;
    [0, 0.35, 0.7].forEach(function (offset) {
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.2, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.001, now + offset + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + offset);
      osc.stop(now + offset + 0.3);
    });
    return true;
  }
  document.getElementById("sound-allow").addEventListener("click", function () {
    soundWanted = true;
    localStorage.setItem("anxin.sound", "on");
    sessionStorage.setItem("anxin.sound.asked", "1");
    ask.hidden = true;
    unlock().then(beep);
  });
  document.getElementById("sound-decline").addEventListener("click", function () {
    soundWanted = false;
    localStorage.setItem("anxin.sound", "off");
    sessionStorage.setItem("anxin.sound.asked", "1");
    ask.hidden = true;
    showSound();
  });
  soundButton.addEventListener("click", function () {
    soundWanted = !soundOn();
    localStorage.setItem("anxin.sound", soundWanted ? "on" : "off");
    if (soundWanted) unlock().then(beep); else showSound();
  });
  // A page load needs a gesture again before sound plays: the first click or key unlocks it.
  function firstGesture() {
    document.removeEventListener("click", firstGesture, true);
    document.removeEventListener("keydown", firstGesture, true);
    if (soundWanted) unlock();
  }
  document.addEventListener("click", firstGesture, true);
  document.addEventListener("keydown", firstGesture, true);
  if (!sessionStorage.getItem("anxin.sound.asked")) ask.hidden = false;
  showSound();

  // The queue says how many emergencies nobody has taken (`data-emergencies`): the banner flashes
  // while there are any, and a new one rings. "New" is read off the queue itself (an item key
  // it did not show before), never off an event's time, which is the server's clock and may be
  // an alarm's first announcement pushed again.
  var emergencies = 0;
  var shownEmergencies = null; // keys of untaken emergency items in the last queue shown
  function emergenciesWaiting(count) {
    emergencies = count;
    flash.hidden = count === 0;
    flash.textContent = count
      ? interpolate(ngettext("%s emergency is waiting for a person", "%s emergencies are waiting for a person", count), [count])
      : "";
    document.title = (count ? "(" + count + ") " : "") + document.title.replace(/^\(\d+\) /, "");
  }
  flash.addEventListener("click", function () {
    var first = document.querySelector(".item.band-emergency:not(.taken)");
    if (first) first.scrollIntoView({ block: "center" });
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail.target;
    var state = target.querySelector && target.querySelector("[data-emergencies]");
    if (!state) return;
    emergenciesWaiting(Number(state.dataset.emergencies));
    var keys = Array.from(target.querySelectorAll(".item.band-emergency:not(.taken)"))
      .map(function (el) { return el.dataset.item; });
    var fresh = shownEmergencies && keys.some(function (key) { return !shownEmergencies.has(key); });
    shownEmergencies = new Set(keys);
    if (fresh) ring();
  });
  function ring() {
    beep();
    body.classList.add("alarm-new");
    setTimeout(function () { body.classList.remove("alarm-new"); }, 6000);
  }

  /* ---- the platform's own health: deadlines not enforced while a sweep is stale ---- */
  var platform = document.getElementById("platform");
  function platformSays(msg) {
    if (msg.type === "watchdog.stale") {
      platform.hidden = false;
      platform.textContent = gettext("The platform's timers have stopped: deadlines and re-sends are not running. Watch the queue by hand and tell the supervisor.");
    } else if (msg.type === "watchdog.recovered") {
      platform.hidden = true;
    }
  }

  /* ---- events: pushed (live), or read from the feed ---- */
  var catchUpSoon = null;
  function handle(msg, live) {
    if (!msg || typeof msg.type !== "string") return;
    if (msg.id === undefined || msg.id === null) {
      document.dispatchEvent(new CustomEvent("anxin:" + msg.type, { detail: msg }));
      return;
    }
    if (seen.has(msg.id)) return; // a push and the feed may both bring it
    seen.add(msg.id);
    if (seen.size > SEEN_KEPT) seen.delete(seen.values().next().value);
    msg.live = !!live;
    document.dispatchEvent(new CustomEvent("anxin:event", { detail: msg }));
    refreshFor(msg);
    platformSays(msg);
    // Pages without the queue (the map, today's figures) ring on an alarm pushed to them.
    if (live && !document.getElementById("queue") && msg.type === "alarm.raised") {
      ring();
      flash.hidden = false;
      flash.textContent = gettext("New alarm: open the queue (1)");
    }
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

  window.Anxin = { csrf: csrf, refresh: refresh, refreshAll: refreshAll, emergencies: function () { return emergencies; } };
})();
