// Live refresh for `tokenomy serve`: the server sends the ledger's version as a server-sent
// event whenever an import changes it; the page then fetches the views again (same filters)
// and swaps them in. EventSource reconnects by itself when the server comes back.
"use strict";
(function () {
  const status = document.getElementById("live-status");
  let version = document.body.dataset.version;
  const events = new EventSource("/api/events" + location.search);
  events.addEventListener("version", async function (e) {
    try {
      if (e.data !== version) {
        const page = await fetch("/view" + location.search, { cache: "no-store" });
        document.getElementById("views").innerHTML = await page.text();
        version = e.data;
        document.body.dataset.version = e.data;
      }
      status.innerHTML = "<b>live</b> · updated " + new Date().toLocaleTimeString();
    } catch (err) {
      status.textContent = "server not reachable; retrying";
    }
  });
  events.onerror = function () {
    status.textContent = "server not reachable; retrying";
  };
})();
