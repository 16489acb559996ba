// Live updates: the server says when a new release exists (server-sent events on /events); we fetch this
// page again and swap its <main> in place: no reload. Without JavaScript the page refreshes itself
// (<noscript><meta http-equiv="refresh">).
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch || !window.DOMParser) { return; }
  var shown = parseInt(document.body.getAttribute("data-release") || "0", 10) || 0;
  var source = new EventSource("/events?release=" + shown);
  function refresh(number) {
    return fetch(window.location.href, { headers: { "Accept": "text/html" }, cache: "no-store" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("main");
        if (!fresh) { return; }
        document.getElementById("main").replaceWith(fresh);
        document.body.setAttribute("data-release", String(number));
        var live = document.querySelector("[data-live]");
        if (live) { live.textContent = "Updated live to release " + number + "."; }
        shown = number;
      });
  }
  source.addEventListener("release", function (event) {
    var number = parseInt(JSON.parse(event.data).release, 10);
    if (number > shown) { refresh(number); }
  });
})();
