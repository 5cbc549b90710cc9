// The call page's recording: the transcript follows playback (the turn being heard is highlighted and kept in
// view), and clicking a turn plays the recording from that turn. Turns carry their place in the recording as
// data-audio-start / data-audio-end (ms), measured by the call engine on the recording's own clock.
(function () {
  "use strict";
  var audio = document.getElementById("call-audio");
  if (!audio) return;
  var rows = Array.prototype.slice.call(document.querySelectorAll(".bubble-row[data-audio-start]")).map(function (row) {
    return { row: row, start: +row.getAttribute("data-audio-start") / 1000, end: +row.getAttribute("data-audio-end") / 1000 };
  });
  var current = null;

  // The turn playing at time t: inside [start, end]; between turns, the one that ended last stays lit briefly so
  // the highlight does not flicker across short pauses.
  function turnAt(t) {
    var best = null;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (t >= r.start && t <= r.end + 0.3) best = r;  // later turns win: an agent reply can start before the caller's tail
    }
    return best;
  }

  function update() {
    var hit = audio.paused && audio.currentTime === 0 ? null : turnAt(audio.currentTime);
    if (hit === current) return;
    if (current) current.row.classList.remove("playing");
    current = hit;
    if (current) {
      current.row.classList.add("playing");
      if (!audio.paused) current.row.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  // timeupdate fires only ~4 times a second; while playing, follow every animation frame instead.
  var raf = 0;
  function tick() { update(); raf = audio.paused ? 0 : requestAnimationFrame(tick); }
  audio.addEventListener("play", function () { if (!raf) raf = requestAnimationFrame(tick); });
  audio.addEventListener("timeupdate", update);
  audio.addEventListener("seeked", update);

  rows.forEach(function (r) {
    r.row.title = "Play from here";
    r.row.addEventListener("click", function (ev) {
      if (ev.target.closest("a, button")) return;
      audio.currentTime = r.start;
      var played = audio.play();
      if (played && played.catch) played.catch(function () { /* autoplay refused: the position is still set */ });
      update();
    });
  });
})();
