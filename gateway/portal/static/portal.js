// Live progress: one EventSource per application page; on a change the part of the page that
// carries data-refresh fetches itself again and is swapped in. No page reloads, no inline script
// (the CSP allows none), nothing from elsewhere.
(function () {
  "use strict";
  var body = document.getElementById("live-body");
  if (!body || !window.EventSource || !window.fetch) { return; }
  var state = "off";
  var pending = null;
  function mark() {
    var live = document.getElementById("live");
    if (live) { live.className = "live " + state; }
  }
  function refresh() {
    fetch(body.dataset.refresh, { credentials: "same-origin", redirect: "manual" })
      .then(function (answer) {
        if (answer.type === "opaqueredirect" || answer.status === 401) {
          window.location.reload();  // the session ended: the sign-in page says why
          return null;
        }
        return answer.ok ? answer.text() : null;
      })
      .then(function (html) {
        if (html !== null) { body.innerHTML = html; mark(); }
      })
      .catch(function () { state = "off"; mark(); });
  }
  var source = new EventSource(body.dataset.events);
  source.addEventListener("open", function () { state = "on"; mark(); });
  source.addEventListener("error", function () { state = "off"; mark(); });
  source.addEventListener("change", function () {
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(function () { pending = null; refresh(); }, 150);
  });
})();
