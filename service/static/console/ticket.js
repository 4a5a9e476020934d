// The ticket page: canned-response insert, keyboard shortcuts, live SLA countdown.
// Everything here is an enhancement: the page works the same without JavaScript.
(function () {
  "use strict";

  var form = document.getElementById("reply-form");
  var body = document.getElementById("reply-body");
  var publicChoice = document.getElementById("reply-public");
  var noteChoice = document.getElementById("reply-internal");

  function typingIn(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function markMode() {
    var box = form && form.closest(".reply-box");
    if (box) box.classList.toggle("note-mode", !!(noteChoice && noteChoice.checked));
  }

  // "Insert" copies the chosen response (already filled in for this ticket) into the box.
  var picker = document.getElementById("macro-picker");
  if (picker && body) {
    picker.addEventListener("submit", function (event) {
      var select = picker.querySelector("select");
      var template = select && document.getElementById("macro-" + select.value);
      if (!template) return; // fall back to the server (?macro=)
      event.preventDefault();
      var text = template.content.textContent;
      var start = body.selectionStart, end = body.selectionEnd;
      if (typeof start === "number" && document.activeElement === body) {
        body.value = body.value.slice(0, start) + text + body.value.slice(end);
        body.selectionStart = body.selectionEnd = start + text.length;
      } else {
        body.value = body.value ? body.value.replace(/\s*$/, "") + "\n\n" + text : text;
      }
      body.focus();
    });
  }

  if (form) {
    [publicChoice, noteChoice].forEach(function (choice) {
      if (choice) choice.addEventListener("change", markMode);
    });
    markMode();
  }

  document.addEventListener("keydown", function (event) {
    if (!form || !body) return;
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && form.contains(event.target)) {
      event.preventDefault();
      if (typeof form.requestSubmit === "function") form.requestSubmit(); else form.submit();
      return;
    }
    if (typingIn(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    var choice = event.key === "r" ? publicChoice : event.key === "n" ? noteChoice : null;
    if (event.key !== "r" && event.key !== "n") return;
    event.preventDefault();
    if (choice) choice.checked = true;
    markMode();
    body.focus();
  });

  // Delete buttons ask first (without JavaScript they delete at once, as their label says).
  document.querySelectorAll("form[data-confirm]").forEach(function (confirmForm) {
    confirmForm.addEventListener("submit", function (event) {
      if (!window.confirm(confirmForm.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  // The SLA countdown ("due in 2 h 5 min") follows the clock, every 30 seconds.
  var formats = document.querySelector("[data-countdown]");
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : all;
    });
  }
  function span(seconds) {
    var days = Math.floor(seconds / 86400), hours = Math.floor(seconds % 86400 / 3600);
    var minutes = Math.floor(seconds % 3600 / 60);
    if (days) return fill(formats.dataset.fmtDays, {d: days, h: hours});
    if (hours) return fill(formats.dataset.fmtHours, {h: hours, m: minutes});
    return fill(formats.dataset.fmtMinutes, {m: minutes});
  }
  function tick() {
    document.querySelectorAll("[data-due]").forEach(function (node) {
      var due = Date.parse(node.getAttribute("data-due"));
      if (isNaN(due)) return;
      var seconds = Math.round((due - Date.now()) / 1000);
      node.textContent = seconds >= 0
        ? fill(formats.dataset.fmtDue, {time: span(seconds)})
        : fill(formats.dataset.fmtOverdue, {time: span(-seconds)});
    });
  }
  if (formats) {
    tick();
    window.setInterval(tick, 30000);
  }
})();
