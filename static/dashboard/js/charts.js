// Shared Chart.js set-up: one palette and defaults so every chart looks alike.
(function () {
  "use strict";
  if (!window.Chart) return;
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = "#4b5563";
  Chart.defaults.borderColor = "#eef0f4";
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
  Chart.defaults.maintainAspectRatio = false;
  window.VB = {
    colors: {
      "Endpointing": "#94a3b8", "STT": "#0ea5e9", "Brain": "#6366f1", "TTS": "#f59e0b", "Transport": "#10b981",
      "end_to_end_ms": "#4f46e5", "endpoint_ms": "#94a3b8", "stt_ms": "#0ea5e9", "brain_ms": "#6366f1", "tts_ms": "#f59e0b",
      volume: "#818cf8", hangups: "#f472b6"
    },
    data: function (id) {
      var el = document.getElementById(id);
      return el ? JSON.parse(el.textContent) : null;
    },
    ms: function (v) { return v == null ? "—" : (v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms"); }
  };
})();
