// Smilepost dashboard: draws the location page's charts from the JSON the server rendered into the page
// (every number comes from the server; nothing is computed here) and asks before destructive form posts.
(function () {
  "use strict";

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  var source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var now = "#1f6fb2", before = "#a9b4c2";
  Chart.defaults.animation = false; // charts appear at once, and screenshots are stable

  new Chart(document.getElementById("trend-chart"), {
    type: "line",
    data: {
      labels: data.trend.labels,
      datasets: [
        {label: "this period", data: data.trend.now, borderColor: now, backgroundColor: now, spanGaps: true, tension: 0.2},
        {label: "period before", data: data.trend.before, borderColor: before, backgroundColor: before, borderDash: [4, 3],
         spanGaps: true, tension: 0.2}
      ]
    },
    options: {responsive: true, maintainAspectRatio: false, scales: {y: {suggestedMin: 0, suggestedMax: 100}},
              plugins: {legend: {position: "bottom"}}}
  });

  new Chart(document.getElementById("faces-chart"), {
    type: "bar",
    data: {
      labels: data.faces.labels,
      datasets: [
        {label: "this period", data: data.faces.now, backgroundColor: now},
        {label: "period before", data: data.faces.before, backgroundColor: before}
      ]
    },
    options: {responsive: true, maintainAspectRatio: false, plugins: {legend: {position: "bottom"}}}
  });
})();
