// Sortable tables: click (or Enter on) a header; numbers sort by their raw data-v value.
"use strict";
function tokenomySort(th) {
  const table = th.closest("table");
  const col = Array.prototype.indexOf.call(th.parentNode.children, th);
  const numeric = th.dataset.type === "num";
  const dir = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
  table.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", dir);
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const key = (r) => {
    const v = r.cells[col].dataset.v;
    return numeric ? (v === "" ? -Infinity : parseFloat(v)) : v.toLowerCase();
  };
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    const c = x < y ? -1 : x > y ? 1 : 0;
    return dir === "ascending" ? c : -c;
  });
  rows.forEach((r) => body.appendChild(r));
}
document.addEventListener("click", (e) => {
  const th = e.target.closest && e.target.closest("table.sortable th");
  if (th) tokenomySort(th);
});
document.addEventListener("keydown", (e) => {
  const th = e.target.closest && e.target.closest("table.sortable th");
  if (th && e.key === "Enter") tokenomySort(th);
});
