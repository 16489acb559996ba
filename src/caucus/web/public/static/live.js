// Live updates: the server says when a new release exists (server-sent events on /events); we fetch this
// page again and swap its <main> in place: no reload. Without JavaScript the page refreshes itself
// (<noscript><meta http-equiv="refresh">). When the stream is refused (429: too many streams from this
// address) or closed for good, we ask /feed/v1/latest.json every 30 s instead (served by nginx from the
// snapshot files). Pages may be cached for a second by nginx: a page older than the release announced is
// fetched again a little later.
(function () {
  "use strict";
  if (!window.fetch || !window.DOMParser) { return; }
  var POLL_MS = 30000;
  var shown = parseInt(document.body.getAttribute("data-release") || "0", 10) || 0;
  var wanted = shown;
  var busy = false;
  function refresh() {
    if (busy || wanted <= shown) { return; }
    busy = true;
    fetch(window.location.href, { headers: { "Accept": "text/html" }, cache: "no-store" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("main");
        var number = parseInt(page.body.getAttribute("data-release") || "0", 10) || 0;
        if (fresh && number > shown) {
          document.getElementById("main").replaceWith(fresh);
          document.body.setAttribute("data-release", String(number));
          var live = document.querySelector("[data-live]");
          if (live) { live.textContent = "Updated live to release " + number + "."; }
          shown = number;
        }
      })
      .catch(function () { return null; })
      .then(function () {
        busy = false;
        if (wanted > shown) { window.setTimeout(refresh, 1500); }
      });
  }
  function announce(number) {
    if (number > wanted) { wanted = number; }
    refresh();
  }
  function poll() {
    fetch("/feed/v1/latest.json", { cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (latest) { if (latest) { announce(parseInt(latest.release, 10) || 0); } })
      .catch(function () { return null; });
  }
  function pollForever() { window.setInterval(poll, POLL_MS + Math.floor(Math.random() * 5000)); }
  if (!window.EventSource) { pollForever(); return; }
  var source = new EventSource("/events?release=" + shown);
  source.addEventListener("release", function (event) {
    announce(parseInt(JSON.parse(event.data).release, 10));
  });
  source.addEventListener("error", function () {
    // the browser reconnects by itself unless the server refused the stream (any answer but 200)
    if (source.readyState === EventSource.CLOSED) { pollForever(); }
  });
})();
