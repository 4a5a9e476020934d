/* Help-article suggestions under a request form's subject (knowledge base).
 *
 * Plain JavaScript, no libraries, no inline script: everything it needs (URLs, the
 * source, the subject input's id, the language, the CSRF token and its translated texts)
 * comes from the data attributes of .kb-suggest, rendered by the server. As the customer
 * types a subject it asks /api/v1/kb/suggest (debounced; only the latest answer counts)
 * and lists up to five articles, each opening in a new tab, each with "This solved my
 * problem": a real POST to /help/deflections, so the request ends without a ticket.
 */
(function () {
  "use strict";

  var DELAY_MS = 250;
  var MIN_LENGTH = 2;
  var MAX_ITEMS = 5;

  function itemsOf(data) {
    // The API answers {"items": [...]}.
    return data && Array.isArray(data.items) ? data.items : [];
  }

  function articleId(item) {
    return /^[0-9]+$/.test(String(item.id)) ? String(item.id) : null;
  }

  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    return input;
  }

  function setup(box) {
    var input = document.getElementById(box.dataset.subjectId || "");
    var results = box.querySelector(".kb-suggest-results");
    if (!input || !results || !window.fetch) return;
    var timer = null;
    var latest = 0;

    function deflect(id, query) {
      // Not inside the request form (forms cannot nest): a form of its own, posted.
      var form = document.createElement("form");
      form.method = "post";
      form.action = box.dataset.deflectUrl;
      form.hidden = true;
      form.appendChild(hidden("article_id", id));
      form.appendChild(hidden("source", box.dataset.source));
      form.appendChild(hidden("q", query));
      form.appendChild(hidden("csrf_token", box.dataset.csrfToken));
      document.body.appendChild(form);
      form.submit();
    }

    function render(items, query) {
      results.textContent = "";
      box.classList.toggle("has-items", items.length > 0);
      if (!items.length) return;
      var heading = document.createElement("p");
      heading.className = "kb-suggest-heading";
      heading.textContent = box.dataset.textHeading;
      var list = document.createElement("ul");
      list.className = "kb-suggest-list";
      items.slice(0, MAX_ITEMS).forEach(function (item) {
        var id = articleId(item);
        if (id === null) return;
        var entry = document.createElement("li");
        var link = document.createElement("a");
        var params = new URLSearchParams({ from: box.dataset.source, q: query });
        link.href = box.dataset.articleUrl + id + "?" + params.toString();
        link.target = "_blank";
        link.rel = "noopener";
        link.className = "kb-suggest-title";
        // title_html and snippet_html come escaped from the server, with <mark> around
        // the matches: the only two values inserted as HTML.
        link.innerHTML = item.title_html || "";
        var note = document.createElement("span");
        note.className = "visually-hidden";
        note.textContent = " " + box.dataset.textNewTab;
        link.appendChild(note);
        entry.appendChild(link);
        if (item.snippet_html) {
          var snippet = document.createElement("p");
          snippet.className = "kb-suggest-snippet";
          snippet.innerHTML = item.snippet_html;
          entry.appendChild(snippet);
        }
        var solved = document.createElement("button");
        solved.type = "button";  // never submits the request form around it
        solved.className = "kb-suggest-solved";
        solved.textContent = box.dataset.textSolved;
        solved.addEventListener("click", function () { deflect(id, query); });
        entry.appendChild(solved);
        list.appendChild(entry);
      });
      results.appendChild(heading);
      results.appendChild(list);
    }

    function lookup() {
      var query = input.value.trim();
      var ticket = ++latest;
      if (query.length < MIN_LENGTH) {
        render([], query);
        return;
      }
      var params = new URLSearchParams({ q: query, language: box.dataset.language,
                                         limit: String(MAX_ITEMS) });
      fetch(box.dataset.suggestUrl + "?" + params.toString(),
            { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (ticket === latest) render(itemsOf(data), query);  // a stale answer is dropped
        })
        .catch(function () {
          if (ticket === latest) render([], query);  // suggestions are a help, never a blocker
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(lookup, DELAY_MS);
    });
    if (input.value.trim().length >= MIN_LENGTH) lookup();  // a pre-filled subject
  }

  document.querySelectorAll("[data-kb-suggest]").forEach(setup);
})();
