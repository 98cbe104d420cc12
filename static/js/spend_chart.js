/*
 * The arena page's chart of cumulative spend over time, drawn with uPlot (vendored in
 * static/vendor/uplot/, MIT). It starts from the series rendered with the page
 * (`config.spend`: the cumulative cost after each usage report) and adds a point for each
 * `usage_reported` event the live feed shows (arena_detail.js announces each as an
 * `aleph:event`), whose `totals.cost_usd` is the arena's cost after it; a `budget_changed`
 * event moves the line of the arena's cost limit.
 */
(function () {
  "use strict";

  const config = window.Aleph.readConfig().spend;
  const root = document.getElementById("spend-chart");
  const empty = document.getElementById("spend-chart-empty");
  if (!root || !config || typeof window.uPlot !== "function") return;
  const times = config.times.slice();
  const costs = config.costs.slice();
  let limit = config.limit;
  let plot = null;

  function dollars(value) {
    return value === null || value === undefined ? "—" : "$" + value.toFixed(value < 1 ? 4 : 2);
  }

  function data() {
    return [times, costs, times.map(() => limit)];
  }

  function size() {
    return { width: Math.max(240, root.clientWidth || 480), height: 200 };
  }

  function draw() {
    empty.hidden = times.length > 0;
    root.dataset.points = String(times.length);
    root.dataset.lastCost = costs.length ? costs[costs.length - 1].toFixed(6) : "0";
    if (!times.length) return;
    if (plot) {
      plot.setData(data());
      return;
    }
    const options = {
      ...size(),
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max || 0, limit || 0) * 1.1 || 1] } },
      axes: [{}, { values: (u, ticks) => ticks.map((t) => "$" + t) , size: 60 }],
      series: [
        {},
        { label: "Spent", stroke: "#2563eb", width: 2, fill: "rgba(37, 99, 235, 0.08)", value: (u, v) => dollars(v) },
        { label: "Budget", stroke: "#dc2626", width: 1, dash: [6, 4], value: (u, v) => dollars(v) },
      ],
    };
    plot = new window.uPlot(options, data(), root);
  }

  document.addEventListener("aleph:event", (message) => {
    const e = message.detail;
    if (e.type === "usage_reported") {
      times.push(Date.parse(e.timestamp) / 1000);
      costs.push(Number(e.totals.cost_usd));
      draw();
    } else if (e.type === "budget_changed") {
      limit = e.budget && e.budget.cost_usd ? Number(e.budget.cost_usd) : null;
      draw();
    }
  });
  window.addEventListener("resize", () => plot && plot.setSize(size()));
  draw();
})();
