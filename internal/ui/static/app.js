// canhgac UI helpers. Loaded from /static (the CSP forbids inline scripts).
// Forms with data-confirm ask before they submit (deletes, password resets).
document.addEventListener("submit", function (e) {
  var msg = e.target.getAttribute && e.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    e.preventDefault();
  }
}, true);

// The live alert board: the server sends an event whenever an alert in the
// viewer's scope changes, and the board reloads its table (htmx). While
// alerts are ticked for bulk acknowledgement the reload waits, so the
// ticks are not lost. A new critical alert plays a tone if sound is on.
(function () {
  var board = document.getElementById("alert-board");
  if (!board || !window.EventSource) {
    return;
  }
  var sound = document.getElementById("alert-sound");
  if (sound) {
    sound.checked = window.localStorage.getItem("canhgac.sound") === "on";
    sound.addEventListener("change", function () {
      window.localStorage.setItem("canhgac.sound", sound.checked ? "on" : "off");
      if (sound.checked) {
        beep();
      }
    });
  }
  var audio = null;
  function beep() {
    if (!sound || !sound.checked) {
      return;
    }
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.35, 0.7].forEach(function (t) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.frequency.value = 880;
        gain.gain.value = 0.2;
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(audio.currentTime + t);
        osc.stop(audio.currentTime + t + 0.2);
      });
    } catch (e) { /* no audio device */ }
  }
  var pending = false;
  var timer = null;
  function refresh() {
    if (document.querySelector("#alert-board input[name=id]:checked")) {
      pending = true;
      return;
    }
    pending = false;
    window.htmx.trigger(document.getElementById("alert-board"), "refresh");
  }
  document.addEventListener("change", function (e) {
    if (pending && e.target.name === "id") {
      refresh();
    }
  });
  var es = new EventSource("/alerts/stream");
  es.addEventListener("alert", function (e) {
    var c = {};
    try { c = JSON.parse(e.data); } catch (err) { /* ignore */ }
    if (c.type === "raised" && c.severity === "critical") {
      beep();
    }
    document.body.setAttribute("data-last-event", c.type + ":" + c.alert_id);
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  });
})();
