// Talk to an agent from the browser. The page plays the carrier: it streams the microphone as 16 kHz PCM16 over
// the media WebSocket (/media/browser), plays the agent's audio on a Web Audio timeline, echoes each mark once
// the audio before it has played (that is how the agent knows what was heard), and on "clear" (the caller barged
// in) silences the queued audio at once. The transcript arrives on the same socket. Text from the socket is only
// ever inserted with textContent.
(function () {
  "use strict";
  var root = document.getElementById("talk");
  if (!root) return;
  var RATE = 16000;
  // The media consumer's close codes (calls/consumers.py) that mean the call never got going.
  var CLOSE_REASONS = {
    4403: "refused: the call link expired or was already used — start again",
    4408: "no audio reached the server in time — start again",
    4415: "the server cannot decode this audio format"
  };
  var startBtn = document.getElementById("talk-start");
  var hangBtn = document.getElementById("talk-hangup");
  var statusEl = document.getElementById("talk-status");
  var levelEl = document.getElementById("talk-level");
  var recordEl = document.getElementById("talk-record");
  var transcript = document.getElementById("talk-transcript");
  var empty = document.getElementById("talk-empty");

  var ctx = null, mic = null, worklet = null, socket = null, call = null;
  var playhead = 0, sources = [], marks = [], markTimer = 0, ended = false;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function setStatus(text, cls) {
    statusEl.textContent = text;
    statusEl.className = "talk-status" + (cls ? " " + cls : "");
  }

  function csrfToken() {
    var input = document.querySelector("#talk-form [name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // ------------------------------------------------------------------ starting and ending

  async function start() {
    startBtn.disabled = true;
    ended = false;
    setStatus("asking for the microphone…");
    try {
      // The microphone first: the stream token is short-lived, and the permission prompt can take a while.
      mic = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true }
      });
      ctx = new AudioContext();  // the device's own rate; the worklet resamples to 16 kHz
      await ctx.audioWorklet.addModule(root.getAttribute("data-worklet-url"));
      setStatus("connecting…");
      var resp = await fetch(root.getAttribute("data-start-url"), {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() }
      });
      if (!resp.ok) throw new Error("the server refused to start a call (HTTP " + resp.status + ")");
      call = await resp.json();
      openSocket();
    } catch (err) {
      fail(err && err.message ? err.message : String(err));
    }
  }

  function openSocket() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + call.socket);
    socket.onopen = function () {
      socket.send(JSON.stringify({ event: "start", start: { token: call.token, sample_rate: RATE } }));
      startMicrophone();
      setStatus("connected", "live");
      hangBtn.disabled = false;
      showRecordLink();
    };
    socket.onmessage = function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      onMessage(msg);
    };
    socket.onclose = function (ev) {
      var why = CLOSE_REASONS[ev.code];
      if (why) fail(why); else finish(ev.code === 1000 || ev.code === 1005 ? "call ended" : "call ended (" + ev.code + ")");
    };
  }

  function startMicrophone() {
    var source = ctx.createMediaStreamSource(mic);
    worklet = new AudioWorkletNode(ctx, "mic-downsampler", { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
    worklet.port.onmessage = function (ev) {
      var pcm = new Int16Array(ev.data);
      showLevel(pcm);
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ event: "media", media: { payload: toBase64(ev.data) } }));
      }
    };
    source.connect(worklet);
    worklet.connect(ctx.destination);  // silent (the processor writes no output), but keeps the node rendering
    markTimer = setInterval(echoPlayedMarks, 20);
  }

  function hangUp() {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ event: "stop" }));
      socket.close(1000);
    }
    finish("call ended");
  }

  function finish(text) {
    if (ended) return;
    ended = true;
    setStatus(text);
    clearInterval(markTimer);
    stopPlayback();
    marks = [];
    if (mic) mic.getTracks().forEach(function (t) { t.stop(); });
    if (worklet) worklet.port.onmessage = null;
    if (ctx) ctx.close();
    ctx = mic = worklet = null;
    levelEl.style.width = "0";
    hangBtn.disabled = true;
    startBtn.disabled = false;
    startBtn.textContent = "● Call again";
  }

  function fail(message) {
    finish("error");
    setStatus(message, "error");
  }

  function showRecordLink() {
    recordEl.textContent = "";
    var link = el("a", null, "call #" + call.call);
    link.href = call.call_url;
    link.setAttribute("data-testid", "talk-call-link");
    recordEl.appendChild(link);
  }

  // ------------------------------------------------------------------ agent audio

  function onMessage(msg) {
    if (msg.event === "media") play(msg.media.payload);
    else if (msg.event === "mark") marks.push({ name: msg.mark.name, at: playhead });
    else if (msg.event === "clear") onClear();
    else if (msg.event === "transcript") onTranscript(msg.kind, msg.data || {});
  }

  function play(payload) {
    if (!ctx) return;
    var bytes = fromBase64(payload);
    var pcm = new Int16Array(bytes.buffer, 0, bytes.length >> 1);
    if (!pcm.length) return;
    var buffer = ctx.createBuffer(1, pcm.length, RATE);  // Web Audio resamples 16 kHz to the device rate
    var data = buffer.getChannelData(0);
    for (var i = 0; i < pcm.length; i++) data[i] = pcm[i] / 32768;
    var node = ctx.createBufferSource();
    node.buffer = buffer;
    node.connect(ctx.destination);
    // Back to back after what is queued; after an underrun, a little ahead so the next chunks can line up.
    var now = ctx.currentTime;
    playhead = playhead < now ? now + 0.06 : playhead;
    node.start(playhead);
    playhead += buffer.duration;
    sources.push(node);
    node.onended = function () {
      var at = sources.indexOf(node);
      if (at >= 0) sources.splice(at, 1);
    };
  }

  // A mark is played once the context clock passes the end of the audio scheduled before it.
  function echoPlayedMarks() {
    if (!ctx) return;
    var now = ctx.currentTime;
    while (marks.length && marks[0].at <= now) echoMark(marks.shift().name);
  }

  function echoMark(name) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ event: "mark", mark: { name: name } }));
  }

  // Barge-in: stop everything queued now, and hand back the pending marks (as a phone carrier does).
  function onClear() {
    stopPlayback();
    var pending = marks;
    marks = [];
    pending.forEach(function (m) { echoMark(m.name); });
  }

  function stopPlayback() {
    sources.forEach(function (node) { try { node.stop(); } catch (e) { /* not started yet */ } });
    sources = [];
    playhead = 0;
  }

  // ------------------------------------------------------------------ transcript

  var partialRow = null;

  function onTranscript(kind, data) {
    if (kind === "turn") {
      clearPartial(data.role);
      var existing = transcript.querySelector('[data-turn="' + data.index + '"]');
      var row = turnRow(data);
      if (existing) existing.replaceWith(row); else append(row);
    } else if (kind === "partial") {
      if (!data.text) return;
      if (!partialRow) {
        partialRow = turnRow({ role: "caller", text: "" });
        partialRow.classList.add("partial");
        append(partialRow);
      }
      partialRow.querySelector(".bubble").textContent = data.text + "…";
    } else if (kind === "event") {
      var detail = data.detail || {};
      var text = data.kind === "barge_in" ? "✂ you interrupted the agent" :
        data.kind === "dtmf" ? "⌨ key " + detail.digit : data.kind.replace(/_/g, " ");
      append(el("div", "event-row " + (data.kind || ""), text));
    } else if (kind === "call" && data.status === "completed") {
      setStatus("call ended");
    }
  }

  function clearPartial(role) {
    if (partialRow && role === "caller") {
      partialRow.remove();
      partialRow = null;
    }
  }

  function turnRow(turn) {
    var row = el("div", "bubble-row new " + turn.role);
    if (turn.index != null) row.setAttribute("data-turn", turn.index);
    row.setAttribute("data-role", turn.role);
    row.appendChild(el("div", "avatar", turn.role === "agent" ? "AI" : "You"));
    var bubble = el("div", "bubble");
    var text = turn.text || "", heard = turn.heard_text || "";
    if (turn.interrupted && text.indexOf(heard) === 0) {  // heard may be empty: nothing of it was heard
      bubble.appendChild(el("span", "heard", heard));
      bubble.appendChild(el("span", "unheard", text.slice(heard.length)));
    } else {
      bubble.appendChild(document.createTextNode(text));
    }
    if (turn.metrics && turn.metrics.end_to_end_ms != null) {
      var meta = el("div", "meta");
      meta.appendChild(el("span", null, "reply in " + Math.round(turn.metrics.end_to_end_ms) + " ms"));
      bubble.appendChild(meta);
    }
    row.appendChild(bubble);
    return row;
  }

  function append(node) {
    if (empty) { empty.remove(); empty = null; }
    // A partial caller bubble stays last until its final transcript replaces it.
    if (partialRow && node !== partialRow && partialRow.parentNode === transcript) transcript.insertBefore(node, partialRow);
    else transcript.appendChild(node);
    transcript.scrollTop = transcript.scrollHeight;
  }

  // ------------------------------------------------------------------ helpers

  function showLevel(pcm) {
    var sum = 0;
    for (var i = 0; i < pcm.length; i += 4) sum += pcm[i] * pcm[i];
    var rms = Math.sqrt(sum / (pcm.length / 4)) / 32768;
    levelEl.style.width = Math.min(100, Math.round(rms * 400)) + "%";
  }

  function toBase64(buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  }

  function fromBase64(b64) {
    var text = atob(b64), bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  startBtn.addEventListener("click", start);
  hangBtn.addEventListener("click", hangUp);
  window.addEventListener("pagehide", function () { if (!ended && socket) hangUp(); });
})();
