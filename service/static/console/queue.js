// Ticket queue enhancements: live refresh, SLA countdown, select all, keyboard shortcuts.
// The page works without this script: links, forms and the server-rendered times do it all.
(function () {
  "use strict";
  var table = document.getElementById("queue-table");
  if (!table) return;
  var REFRESH_MS = 30000;
  var lang = table.getAttribute("data-lang") || document.documentElement.lang || "en";
  var relativeFormat = window.Intl && Intl.RelativeTimeFormat
    ? new Intl.RelativeTimeFormat(lang, { numeric: "always" }) : null;
  var lastRefresh = Date.now();
  var current = null; // the highlighted row's ticket id

  function tbody() { return document.getElementById("queue-rows"); }
  function rows() { return Array.prototype.slice.call(tbody().querySelectorAll("tr[data-id]")); }

  // ---- relative times: the same units as the server (babel format_timedelta, threshold 2)
  var UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
               ["hour", 3600], ["minute", 60]];

  function relative(target, now) {
    if (!relativeFormat) return null;
    var seconds = (target - now) / 1000;
    var size = Math.abs(seconds);
    for (var i = 0; i < UNITS.length; i++) {
      var value = size / UNITS[i][1];
      if (value >= 2 || UNITS[i][0] === "minute") {
        var amount = Math.max(1, Math.round(value));
        return relativeFormat.format(seconds < 0 ? -amount : amount, UNITS[i][0]);
      }
    }
    return null;
  }

  // ---- SLA countdown: text every 30 s, state class when a warning or due time passes
  function tickSla() {
    var now = Date.now();
    Array.prototype.forEach.call(tbody().querySelectorAll("td.sla[data-due]"), function (cell) {
      var due = Date.parse(cell.getAttribute("data-due"));
      var warn = cell.hasAttribute("data-warn") ? Date.parse(cell.getAttribute("data-warn")) : NaN;
      var state = cell.getAttribute("data-state");
      if (state === "on_track" || state === "at_risk") {
        var next = now >= due ? "breached" : (!isNaN(warn) && now >= warn ? "at_risk" : state);
        if (next !== state) setState(cell, state, next);
      }
      var left = cell.querySelector(".sla-left");
      var text = relative(due, now);
      if (left && text) left.textContent = text;
    });
    Array.prototype.forEach.call(tbody().querySelectorAll("td.updated time[datetime]"), function (node) {
      var text = relative(Date.parse(node.getAttribute("datetime")), now);
      if (text) node.textContent = text;
    });
  }

  function setState(cell, from, to) {
    cell.setAttribute("data-state", to);
    var badge = cell.querySelector(".badge");
    if (!badge) return;
    badge.classList.remove("sla-" + from);
    badge.classList.add("sla-" + to);
    var label = table.getAttribute("data-label-" + to);
    if (label) badge.textContent = label;
  }

  // ---- selection: "select all on this page" and the row boxes stay consistent
  var selectAll = document.getElementById("select-all");

  function syncSelectAll() {
    if (!selectAll) return;
    var boxes = tbody().querySelectorAll("input[name=ids]");
    var checked = tbody().querySelectorAll("input[name=ids]:checked");
    selectAll.checked = boxes.length > 0 && checked.length === boxes.length;
    selectAll.indeterminate = checked.length > 0 && checked.length < boxes.length;
  }

  if (selectAll) {
    selectAll.addEventListener("change", function () {
      Array.prototype.forEach.call(tbody().querySelectorAll("input[name=ids]"), function (box) {
        box.checked = selectAll.checked;
      });
    });
  }
  table.addEventListener("change", function (event) {
    if (event.target && event.target.name === "ids") syncSelectAll();
  });

  // ---- live refresh: swap the rows, keep what was checked, highlighted and focused
  function refresh() {
    var url = table.getAttribute("data-rows-url");
    if (!url || !window.fetch) return;
    lastRefresh = Date.now();
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        // Anything but our rows (an expired session's sign-in page, an error) is ignored.
        var count = response.headers.get("X-Queue-Rows");
        if (!response.ok || count === null || count === "error") return null;
        return response.text().then(function (html) { return { html: html, count: count }; });
      })
      .then(function (result) {
        if (!result) return;
        var checked = {};
        Array.prototype.forEach.call(tbody().querySelectorAll("input[name=ids]:checked"), function (box) {
          checked[box.value] = true;
        });
        var focusedId = document.activeElement && tbody().contains(document.activeElement)
          ? document.activeElement.id : null;
        tbody().innerHTML = result.html;
        Array.prototype.forEach.call(tbody().querySelectorAll("input[name=ids]"), function (box) {
          if (checked[box.value]) box.checked = true;
        });
        if (focusedId && document.getElementById(focusedId)) document.getElementById(focusedId).focus();
        highlight(current, false);
        syncSelectAll();
        var counter = document.getElementById("queue-count");
        // The number is the only digit run of "N on this page" in either language.
        if (counter) counter.textContent = counter.textContent.replace(/\d+/, result.count);
        tickSla();
      })
      .catch(function () { /* offline for a moment: the next tick tries again */ });
  }

  setInterval(function () {
    if (document.visibilityState === "visible") refresh();
  }, REFRESH_MS);
  setInterval(tickSla, REFRESH_MS);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && Date.now() - lastRefresh >= REFRESH_MS) refresh();
  });

  // ---- keyboard: j/k move the highlight, Enter/o open, x toggles the row's box
  function highlight(id, scroll) {
    var found = null;
    rows().forEach(function (row) {
      var on = id !== null && row.getAttribute("data-id") === id;
      row.classList.toggle("is-current", on);
      if (on) { row.setAttribute("aria-current", "true"); found = row; } else { row.removeAttribute("aria-current"); }
    });
    current = found ? id : null;
    if (found && scroll) found.scrollIntoView({ block: "nearest" });
    return found;
  }

  function move(step) {
    var list = rows();
    if (!list.length) return;
    var index = list.findIndex(function (row) { return row.getAttribute("data-id") === current; });
    index = index < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, index + step));
    highlight(list[index].getAttribute("data-id"), true);
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target || {};
    var tag = target.tagName;
    var typing = target.isContentEditable || tag === "TEXTAREA" || tag === "SELECT" ||
      (tag === "INPUT" && target.type !== "checkbox");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    // Enter on a link, button or summary does what it always does.
    if (event.key === "Enter" && /^(A|BUTTON|SUMMARY)$/.test(tag)) return;
    var row = current !== null ? highlight(current, false) : null;
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if ((event.key === "Enter" || event.key === "o") && row) {
      window.location.href = row.getAttribute("data-url");
      event.preventDefault();
    } else if (event.key === "x" && row) {
      var box = row.querySelector("input[name=ids]");
      if (box) { box.checked = !box.checked; syncSelectAll(); }
      event.preventDefault();
    }
  });

  tickSla();
})();
