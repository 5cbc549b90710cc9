// Small behaviours shared by every dashboard page. Vanilla JS, no dependencies.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="text">.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    var text = btn.getAttribute("data-copy");
    var done = function () {
      var old = btn.textContent;
      btn.textContent = "Copied ✓";
      btn.classList.add("copied");
      setTimeout(function () { btn.textContent = old; btn.classList.remove("copied"); }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);  // plain-http dashboards (local use) have no async clipboard API
      done();
    }
  });

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing else to try */ }
    document.body.removeChild(area);
  }

  // Forms that destroy something ask first: <form data-confirm="...">.
  document.addEventListener("submit", function (ev) {
    var message = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) ev.preventDefault();
  });

  // Whole table rows link to their page: <tr data-href>.
  document.addEventListener("click", function (ev) {
    var row = ev.target.closest("tr[data-href]");
    if (row && !ev.target.closest("a, button, form")) window.location = row.getAttribute("data-href");
  });

  // JSON editors: Tab indents instead of leaving the field; "Format JSON" pretty-prints.
  document.querySelectorAll("textarea[data-json-editor]").forEach(function (area) {
    area.addEventListener("keydown", function (ev) {
      if (ev.key !== "Tab" || ev.shiftKey || ev.ctrlKey || ev.metaKey) return;
      ev.preventDefault();
      var start = area.selectionStart, end = area.selectionEnd;
      area.setRangeText("  ", start, end, "end");
    });
  });
  document.querySelectorAll("[data-format-json]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var area = document.getElementById(btn.getAttribute("data-format-json"));
      try {
        area.value = JSON.stringify(JSON.parse(area.value), null, 2);
        btn.textContent = "Formatted ✓";
      } catch (e) {
        btn.textContent = "Invalid JSON: " + e.message.slice(0, 60);
      }
      setTimeout(function () { btn.textContent = "Format JSON"; }, 2500);
    });
  });

  // "Hear this voice": fetch a WAV of the embedded engine speaking the greeting with the chosen voice.
  var hear = document.getElementById("hear-voice");
  var ttsChoice = document.getElementById("id_tts_provider");
  if (hear && ttsChoice) {
    // Samples come from the embedded engines, so they only make sense for Piper and eSpeak voices.
    var syncHear = function () {
      hear.disabled = ttsChoice.value !== "espeak" && ttsChoice.value !== "piper";
      hear.title = hear.disabled ? "Samples use the embedded voices (Piper, eSpeak)" : "";
    };
    ttsChoice.addEventListener("change", syncHear);
    syncHear();
  }
  if (hear) {
    hear.addEventListener("click", function () {
      var provider = (document.getElementById("id_tts_provider") || {}).value || "espeak";
      var voice = document.getElementById("id_voice").value || "";
      var greeting = (document.getElementById("id_greeting") || {}).value || "";
      var language = (document.getElementById("id_language") || {}).value || "";
      var status = document.getElementById("hear-voice-status");
      var player = document.getElementById("voice-player");
      // The agent's voice options (provider_options "tts": speed, noise_scale, ...) as a call would use them.
      var ttsOptions = {};
      try {
        ttsOptions = (JSON.parse((document.getElementById("id_provider_options") || {}).value || "{}") || {}).tts || {};
      } catch (e) { /* the form reports invalid JSON on save; the sample uses the defaults */ }
      var url = hear.getAttribute("data-sample-url") + "?provider=" + encodeURIComponent(provider) +
        "&voice=" + encodeURIComponent(voice) +
        "&language=" + encodeURIComponent(language) +
        "&options=" + encodeURIComponent(JSON.stringify(ttsOptions)) +
        "&text=" + encodeURIComponent(greeting.slice(0, 300));
      status.textContent = "Synthesizing…";
      fetch(url, { credentials: "same-origin" }).then(function (resp) {
        if (!resp.ok) return resp.text().then(function (t) { throw new Error(t || resp.statusText); });
        return resp;
      }).then(function (resp) {
        var spoke = resp.headers.get("X-Voice") || voice;
        return resp.blob().then(function (blob) { return [blob, spoke]; });
      }).then(function (got) {
        if (player.src) URL.revokeObjectURL(player.src);
        player.src = URL.createObjectURL(got[0]);
        status.textContent = "Playing " + got[1];
        return player.play();
      }).catch(function (err) {
        status.textContent = err.message;
      });
    });
  }

  // Flow diagram: hovering a transition highlights the node it leads to.
  document.querySelectorAll("[data-node-link]").forEach(function (link) {
    var target = document.getElementById("node-" + link.getAttribute("data-node-link"));
    if (!target) return;
    link.addEventListener("mouseenter", function () { target.classList.add("hl"); });
    link.addEventListener("mouseleave", function () { target.classList.remove("hl"); });
  });
})();
