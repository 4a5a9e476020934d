// Start Swagger UI on our own OpenAPI document (a file, so the page needs no inline script).
(function () {
  var script = document.currentScript;
  window.SwaggerUIBundle({ url: script.dataset.spec, dom_id: "#swagger-ui", deepLinking: true });
})();
