// Draws every <canvas data-chart="ID"> from the JSON in <script id="ID"> (web/charts.py),
// with Chart.js served from the app's static files. Without JavaScript the tables remain.
"use strict";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

function drawChart(canvas) {
  const spec = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
  const stacked = Boolean(spec.stacked);
  const datasets = spec.datasets.map((d, i) => ({
    label: d.label,
    data: d.data,
    borderColor: PALETTE[i % PALETTE.length],
    backgroundColor: PALETTE[i % PALETTE.length] + (spec.type === "bar" ? "cc" : "33"),
    fill: stacked,
    pointRadius: spec.labels.length > 60 ? 0 : 2,
    tension: 0.1,
  }));
  const chart = new Chart(canvas, {
    type: spec.type || "line",
    data: { labels: spec.labels, datasets: datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { stacked: stacked, title: { display: Boolean(spec.x_title), text: spec.x_title } },
        y: { stacked: stacked, beginAtZero: true, title: { display: Boolean(spec.y_title), text: spec.y_title } },
      },
    },
  });
  canvas.dataset.rendered = String(chart.data.datasets.reduce((n, d) => n + d.data.length, 0));
}

document.addEventListener("DOMContentLoaded", () => {
  if (typeof Chart === "undefined") return;
  document.querySelectorAll("canvas[data-chart]").forEach(drawChart);
});
