// Analytics charts: latency percentiles over time, call volume, hang-up nodes.
(function () {
  "use strict";
  var data = VB.data("analytics-data");
  if (!data || !window.Chart) return;
  var latency = data.latency, calls = data.calls;
  var common = { animation: false, spanGaps: true, interaction: { mode: "index", intersect: false } };
  var msAxis = { beginAtZero: true, min: 0, ticks: { callback: function (v) { return VB.ms(v); } } };
  var tooltipMs = { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + VB.ms(ctx.parsed.y); } } };

  function line(label, values, color, dashed) {
    return { label: label, data: values, borderColor: color, backgroundColor: color, borderWidth: 2,
             borderDash: dashed ? [5, 4] : [], pointRadius: 2, tension: 0.25 };
  }

  var e2e = latency.series.end_to_end_ms;
  new Chart(document.getElementById("chart-e2e"), {
    type: "line",
    data: { labels: latency.labels, datasets: [
      line("p50", e2e.p50, VB.colors.end_to_end_ms, false),
      line("p95", e2e.p95, "#f43f5e", true)
    ] },
    options: Object.assign({}, common, { scales: { y: msAxis }, plugins: { tooltip: tooltipMs } })
  });

  var stageSets = [];
  data.stages.forEach(function (stage) {
    var s = latency.series[stage.field], color = VB.colors[stage.field];
    stageSets.push(line(stage.label + " p50", s.p50, color, false));
    stageSets.push(line(stage.label + " p95", s.p95, color, true));
  });
  new Chart(document.getElementById("chart-stages"), {
    type: "line",
    data: { labels: latency.labels, datasets: stageSets },
    options: Object.assign({}, common, { scales: { y: msAxis }, plugins: { tooltip: tooltipMs,
      legend: { labels: { filter: function (item) { return / p50$/.test(item.text); } } } } })
  });

  new Chart(document.getElementById("chart-volume"), {
    type: "bar",
    data: { labels: calls.labels, datasets: [{ label: "Calls", data: calls.volume, backgroundColor: VB.colors.volume,
                                               borderRadius: 4 }] },
    options: { animation: false, plugins: { legend: { display: false } },
               scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });

  var hangups = document.getElementById("chart-hangups");
  if (hangups) {
    new Chart(hangups, {
      type: "bar",
      data: { labels: calls.hangup_nodes.map(function (r) { return r[0]; }),
              datasets: [{ label: "Calls", data: calls.hangup_nodes.map(function (r) { return r[1]; }),
                           backgroundColor: VB.colors.hangups, borderRadius: 4 }] },
      options: { indexAxis: "y", animation: false, plugins: { legend: { display: false } },
                 scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
})();
