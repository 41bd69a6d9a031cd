// Live refresh for `tokenomy serve`: poll the ledger's version; when new log lines were
// imported, fetch the views again (same filters) and swap them in.
"use strict";
(function () {
  const status = document.getElementById("live-status");
  let version = document.body.dataset.version;
  async function poll() {
    try {
      const r = await fetch("/api/version" + location.search, { cache: "no-store" });
      const v = (await r.json()).version;
      if (v !== version) {
        const page = await fetch("/view" + location.search, { cache: "no-store" });
        document.getElementById("views").innerHTML = await page.text();
        version = v;
        document.body.dataset.version = v;
      }
      status.innerHTML = "<b>live</b> · checked " + new Date().toLocaleTimeString();
    } catch (err) {
      status.textContent = "server not reachable; retrying";
    }
    setTimeout(poll, Number(document.body.dataset.poll || 2000));
  }
  setTimeout(poll, Number(document.body.dataset.poll || 2000));
})();
