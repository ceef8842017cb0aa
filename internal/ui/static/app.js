// canhgac UI helpers. Loaded from /static (the CSP forbids inline scripts).
// Forms with data-confirm ask before they submit (deletes, password resets).
document.addEventListener("submit", function (e) {
  var msg = e.target.getAttribute && e.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    e.preventDefault();
  }
}, true);
