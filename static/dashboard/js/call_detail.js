// The per-turn latency waterfall on a call's page: one horizontal stacked bar per reply.
(function () {
  "use strict";
  var data = VB.data("waterfall-data");
  var canvas = document.getElementById("waterfall");
  if (!data || !canvas || !window.Chart) return;
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: data.datasets.map(function (ds) {
        return { label: ds.label, data: ds.data, backgroundColor: VB.colors[ds.label] || "#9ca3af",
                 borderRadius: 3, borderSkipped: false, barPercentage: 0.75, categoryPercentage: 0.9 };
      })
    },
    options: {
      indexAxis: "y",
      animation: false,  // drawn at once: screenshots and tests see the finished chart
      scales: {
        x: { stacked: true, title: { display: true, text: "ms after the caller stopped speaking" }, beginAtZero: true },
        y: { stacked: true, ticks: { autoSkip: false } }
      },
      plugins: {
        legend: { position: "bottom" },
        tooltip: {
          callbacks: {
            label: function (ctx) { return ctx.dataset.label + ": " + VB.ms(ctx.parsed.x); },
            footer: function (items) {
              var turn = data.turns[items[0].dataIndex];
              return "End to end: " + VB.ms(turn.end_to_end_ms);
            }
          }
        }
      }
    }
  });
})();
