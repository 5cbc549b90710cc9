// A test run still going: look again every 2 s until every scenario has a result.
(function () {
  if (document.querySelector("[data-running]")) {
    setTimeout(function () { location.reload(); }, 2000);
  }
})();
