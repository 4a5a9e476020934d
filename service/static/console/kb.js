// Knowledge-base console: a live preview of the article while writing, confirmations.
// Every page works without it: the "Preview" button renders the preview on the server.
(function () {
  "use strict";
  var form = document.getElementById("article-form");
  var target = document.getElementById("live-preview");
  var tokenMeta = document.querySelector("meta[name='csrf-token']");

  document.querySelectorAll("form[data-confirm]").forEach(function (confirmForm) {
    confirmForm.addEventListener("submit", function (event) {
      if (!window.confirm(confirmForm.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  if (!form || !target || !tokenMeta || !window.fetch) return;
  var url = form.getAttribute("data-preview-url");
  var timer = null;
  var sent = 0;

  function render() {
    var body = new FormData();
    body.append("kind", form.elements.kind.value);
    form.querySelectorAll("textarea[data-preview-source]").forEach(function (area) {
      body.append(area.name, area.value);
    });
    var number = ++sent;
    fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": tokenMeta.getAttribute("content"), "Accept": "application/json"}
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      // The server sanitised this HTML (knowledge_base.markdown.render): safe to insert.
      if (data && number === sent) target.innerHTML = data.html;
    }).catch(function () { /* the Preview button still works */ });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(render, 400);
  }

  form.querySelectorAll("textarea[data-preview-source]").forEach(function (area) {
    area.addEventListener("input", later);
  });
  target.setAttribute("data-live", "on");
  var written = Array.prototype.some.call(
    form.querySelectorAll("textarea[data-preview-source]"), function (area) { return area.value; });
  if (written) render();
})();
