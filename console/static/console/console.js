/* The console's own behaviours (docs/console.md); the live link and the fragments that follow
 * events are the shared backend/core/static/core/live.js, loaded before this:
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


  document.addEventListener("anxin:event", function (e) {
    var msg = e.detail;
    platformSays(msg);
    // Pages without the queue (the map, today's figures) ring on an alarm pushed to them.
    if (msg.live && !document.getElementById("queue") && msg.type === "alarm.raised") {
      ring();
      flash.hidden = false;
      flash.textContent = gettext("New alarm: open the queue (1)");
    }
  });

  var live = window.AnxinLive;
  window.Anxin = {
    csrf: live.csrf, refresh: live.refresh, refreshAll: live.refreshAll,
    emergencies: function () { return emergencies; },
  };
})();
