// Live updates: one EventSource per page; on a change the parts of the page that carry
// hx-trigger="nsw-change from:body" fetch themselves again (htmx). No page reloads.
(function () {
  "use strict";
  var url = document.body.dataset.events;
  var live = document.getElementById("live");
  if (!url || !window.EventSource) { return; }
  var pending = null;
  var source = new EventSource(url);
  source.addEventListener("open", function () { if (live) { live.className = "live on"; } });
  source.addEventListener("error", function () { if (live) { live.className = "live off"; } });
  source.addEventListener("change", function () {
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(function () {
      pending = null;
      document.body.dispatchEvent(new CustomEvent("nsw-change"));
    }, 150);
  });
})();
