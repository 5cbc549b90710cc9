// Campaign page: poll the progress JSON every 2 s and move the bar, until the campaign is completed.
(function () {
  var box = document.getElementById("campaign-progress");
  if (!box) return;
  function render(p) {
    box.querySelector("[data-role=bar]").style.width = p.percent + "%";
    box.querySelector("[role=progressbar]").setAttribute("aria-valuenow", p.percent);
    box.querySelector("[data-role=status]").textContent = p.status;
    box.querySelector("[data-role=counts]").textContent =
      p.done + " done · " + p.failed + " failed · " + p.dialing + " calling · " + p.pending + " waiting";
  }
  function poll() {
    fetch(box.dataset.url, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (p) render(p);
        if (!p || p.status !== "completed") setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
