// Live monitor: listens on the dashboard WebSocket and appends turns/events to each call's card as they arrive.
// Everything from the socket is inserted with textContent, never as HTML.
(function () {
  "use strict";
  var grid = document.getElementById("live-calls");
  var empty = document.getElementById("live-empty");
  var conn = document.getElementById("conn");
  if (!grid) return;
  var ENDED = { completed: 1, failed: 1, rejected: 1 };
  var retryMs = 500;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function setConn(state, label) {
    conn.className = "conn " + state;
    conn.querySelector(".label").textContent = label;
  }

  function cardFor(call) {
    var card = grid.querySelector('[data-call-id="' + call.id + '"]');
    if (card) return card;
    card = el("div", "card live-card");
    card.setAttribute("data-call-id", call.id);
    var head = el("div", "card-head");
    head.appendChild(el("h2", "mono", (call.from || "?") + " → " + (call.to || "?")));
    var badge = el("span", "badge in-progress", "in-progress");
    badge.setAttribute("data-role", "status");
    head.appendChild(badge);
    card.appendChild(head);
    var sub = el("div", "faint small", (call.carrier || "") + " · ");
    sub.style.margin = "-6px 0 10px";
    var link = el("a", null, "details");
    link.href = grid.getAttribute("data-call-url") + call.id + "/";
    sub.appendChild(link);
    card.appendChild(sub);
    card.appendChild(el("div", "timeline"));
    grid.insertBefore(card, grid.firstChild);
    empty.hidden = true;
    return card;
  }

  function turnBubble(turn) {
    var row = el("div", "bubble-row new " + turn.role);
    row.setAttribute("data-turn", turn.index);
    row.appendChild(el("div", "avatar", turn.role === "agent" ? "AI" : "☎"));
    var bubble = el("div", "bubble");
    var text = turn.text || "", heard = turn.heard_text || "";
    if (turn.interrupted && text.indexOf(heard) === 0) {
      bubble.appendChild(el("span", "heard", heard));
      bubble.appendChild(el("span", "unheard", text.slice(heard.length)));
    } else {
      bubble.appendChild(document.createTextNode(text));
    }
    var meta = el("div", "meta");
    if (turn.interrupted) meta.appendChild(el("span", "cut", "✂ interrupted"));
    if (turn.metrics && turn.metrics.end_to_end_ms != null) {
      meta.appendChild(el("span", null, "reply in " + Math.round(turn.metrics.end_to_end_ms) + " ms"));
    }
    if (meta.childNodes.length) bubble.appendChild(meta);
    row.appendChild(bubble);
    return row;
  }

  function append(card, node) {
    var timeline = card.querySelector(".timeline");
    timeline.appendChild(node);
    timeline.scrollTop = timeline.scrollHeight;
  }

  function onUpdate(msg) {
    var card = cardFor(msg.call || {});
    var data = msg.data || {};
    if (msg.kind === "turn") {
      var existing = card.querySelector('[data-turn="' + data.index + '"]');
      var bubble = turnBubble(data);
      if (existing) existing.replaceWith(bubble); else append(card, bubble);
      if (card.querySelector('[data-role="status"]').textContent === "ringing") setStatus(card, "in-progress");
    } else if (msg.kind === "event") {
      var detail = data.detail || {};
      var text = data.kind === "dtmf" ? "⌨ key " + detail.digit : data.kind + " " +
        Object.keys(detail).map(function (k) { return k + ": " + detail[k]; }).join(" · ");
      var row = el("div", "event-row " + (data.kind || ""), text);
      if (/error|failure|bad_input|overflow/.test(data.kind || "")) row.classList.add("alert");
      append(card, row);
    } else if (msg.kind === "call") {
      if (data.status) setStatus(card, data.status);
      if (data.ended_at && !data.status) setStatus(card, "completed");
    }
  }

  function setStatus(card, status) {
    var badge = card.querySelector('[data-role="status"]');
    badge.textContent = status;
    badge.className = "badge " + status;
    card.classList.toggle("ended", !!ENDED[status]);
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + grid.getAttribute("data-socket-path"));
    var ping;
    socket.onopen = function () {
      retryMs = 500;
      setConn("on", "live");
      if (degraded) checkHealth();
      ping = setInterval(function () { socket.send(JSON.stringify({ type: "ping" })); }, 25000);
    };
    socket.onmessage = function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.type === "call.update") onUpdate(msg);
    };
    socket.onclose = function (ev) {
      clearInterval(ping);
      if (ev.code === 4401 || ev.code === 4403) { setConn("off", "not allowed — log in again"); return; }
      setConn("off", "reconnecting…");
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
  }
  // The server's own view of its live layer: a dead Redis drops updates without closing this socket.
  var degraded = document.getElementById("live-degraded");
  function checkHealth() {
    fetch(degraded.getAttribute("data-health-url"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (h) {
        if (!h) return;
        degraded.hidden = !h.degraded;
        degraded.querySelector('[data-role="error"]').textContent = h.last_error || "";
      })
      .catch(function () {});
  }
  if (degraded) setInterval(checkHealth, 5000);

  connect();
})();
