// The charts page: Chart.js (vendored) drawn from the figures embedded in the page, and redrawn
// from /omc/charts/data.json on every live change.
(function () {
  "use strict";
  var holder = document.getElementById("chart-data");
  if (!holder || !window.Chart) { return; }
  var data = JSON.parse(holder.textContent);
  // The reader's words for the codes (server-side gettext); the codes stay the data's keys.
  var wordsHolder = document.getElementById("chart-words");
  var words = wordsHolder ? JSON.parse(wordsHolder.textContent) : {};
  function say(code) { return words[code] || code; }
  var colours = { released: "#2e7d32", refused: "#c62828", inspection: "#f9a825",
                  green: "#2e7d32", yellow: "#f9a825", red: "#c62828" };
  Chart.defaults.animation = false;
  var charts = {
    decisions: new Chart(document.getElementById("chart-decisions"), { type: "bar",
      data: { labels: data.hours, datasets: ["released", "refused", "inspection"].map(function (v) {
        return { key: v, label: say(v), data: data.decisions[v], backgroundColor: colours[v] }; }) },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } } }),
    latency: new Chart(document.getElementById("chart-latency"), { type: "line",
      data: { labels: data.hours, datasets: [
        { label: "p50", data: data.p50, borderColor: "#1565c0", spanGaps: true },
        { label: "p95", data: data.p95, borderColor: "#6a1b9a", spanGaps: true }] },
      options: { scales: { y: { beginAtZero: true } } } }),
    channels: new Chart(document.getElementById("chart-channels"), { type: "doughnut",
      data: { labels: data.channels.labels.map(say), datasets: [{ data: data.channels.counts,
        backgroundColor: data.channels.labels.map(function (c) { return colours[c]; }) }] } }),
    checkpoint: new Chart(document.getElementById("chart-checkpoint"), { type: "bar",
      data: { labels: data.checkpoint.labels, datasets: [{ label: say("vehicles"), data: data.checkpoint.counts,
        backgroundColor: "#455a64" }] }, options: { scales: { y: { beginAtZero: true } } } })
  };
  document.body.addEventListener("nsw-change", function () {
    fetch(holder.dataset.url, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (d) {
        charts.decisions.data.datasets.forEach(function (ds) { ds.data = d.decisions[ds.key]; });
        charts.decisions.data.labels = d.hours;
        charts.latency.data.labels = d.hours;
        charts.latency.data.datasets[0].data = d.p50;
        charts.latency.data.datasets[1].data = d.p95;
        charts.channels.data.datasets[0].data = d.channels.counts;
        charts.checkpoint.data.datasets[0].data = d.checkpoint.counts;
        Object.keys(charts).forEach(function (k) { charts[k].update(); });
      });
  });
})();
