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

  var texts = JSON.parse(document.getElementById("chart-texts").textContent); // legends in the page's language
  var trend = data.trend, band = "rgba(31, 111, 178, 0.15)";
  var hollow = trend.small.map(function (small) { return small ? "#fff" : now; });
  new Chart(document.getElementById("trend-chart"), {
    type: "line",
    data: {
      labels: trend.labels,
      datasets: [
        {label: texts.low, data: trend.low, borderWidth: 0, pointRadius: 0, spanGaps: true, fill: false},
        {label: texts.interval, data: trend.high, borderWidth: 0, pointRadius: 0, spanGaps: true, fill: "-1",
         backgroundColor: band},
        {label: texts.now, data: trend.now, borderColor: now, backgroundColor: hollow, pointBorderColor: now,
         pointRadius: 3, spanGaps: true, tension: 0.2},
        {label: texts.compared, data: trend.before, borderColor: before, backgroundColor: before, borderDash: [4, 3],
         pointRadius: 0, spanGaps: true, tension: 0.2}
      ]
    },
    options: {
      responsive: true, maintainAspectRatio: false,
      scales: {y: {suggestedMin: trend.nps ? -100 : 0, suggestedMax: 100}},
      plugins: {
        legend: {position: "bottom", labels: {filter: function (item) { return item.text !== texts.low; }}},
        tooltip: {callbacks: {afterLabel: function (ctx) {
          return ctx.datasetIndex === 2 ? "n = " + trend.n[ctx.dataIndex] + (trend.small[ctx.dataIndex] ? " (" + texts.few + ")" : "") : "";
        }}}
      }
    }
  });

  new Chart(document.getElementById("faces-chart"), {
    type: "bar",
    data: {
      labels: data.faces.labels,
      datasets: [
        {label: texts.now, data: data.faces.now, backgroundColor: now},
        {label: texts.before, data: data.faces.before, backgroundColor: before}
      ]
    },
    options: {responsive: true, maintainAspectRatio: false, plugins: {legend: {position: "bottom"}}}
  });
})();
