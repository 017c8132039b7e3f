// Review queue: keyboard shortcuts and the override fields. Loaded as a file (the CSP forbids
// inline scripts); every listener is delegated on document so rows swapped in by htmx just work.
(function () {
  "use strict";

  function items() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-queue-item]"));
  }

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function move(step) {
    var list = items();
    if (!list.length) return;
    var current = list.indexOf(document.querySelector("[data-queue-item].is-current"));
    var next = current === -1 ? (step > 0 ? 0 : list.length - 1)
      : Math.min(list.length - 1, Math.max(0, current + step));
    list.forEach(function (el) { el.classList.remove("is-current"); });
    list[next].classList.add("is-current");
    list[next].focus();
    list[next].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    if (event.key === "j") { move(1); event.preventDefault(); }
    if (event.key === "k") { move(-1); event.preventDefault(); }
  });

  // The reason code and text matter only when the decision departs from the recommendation.
  // Without JavaScript they are always shown (and the server enforces the rule either way).
  function syncOverride(form) {
    var fields = form.querySelector("[data-override]");
    if (!fields) return;
    var checked = form.querySelector("input[name$='outcome']:checked");
    var departs = checked !== null && checked.value !== form.dataset.recommended;
    var hasErrors = fields.querySelector(".error") !== null;
    fields.hidden = !(departs || hasErrors);
  }

  function syncAll(root) {
    (root || document).querySelectorAll("form.decision-form").forEach(syncOverride);
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form.decision-form");
    if (form) syncOverride(form);
  });
  // When the last row on the page leaves (decided), redraw the table: it then shows the items
  // that moved up from later pages, or the empty state.
  function refillIfEmpty() {
    var table = document.getElementById("queue-table");
    if (!table || !window.htmx || !table.querySelector("table") || items().length) return;
    window.htmx.ajax("GET", window.location.href, { target: "#queue-table", swap: "outerHTML" });
  }

  document.addEventListener("htmx:afterSettle", function () { syncAll(); refillIfEmpty(); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { syncAll(); });
  } else {
    syncAll();
  }
})();
