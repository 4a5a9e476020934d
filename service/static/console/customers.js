// As-you-type customer search on the new-ticket page. Without JavaScript the search
// form's GET does the same; this only saves a page load and keeps typed ticket fields.
(function () {
  "use strict";
  var input = document.getElementById("customer_q");
  var results = document.getElementById("customer-results");
  var searchForm = document.getElementById("customer-search");
  if (!input || !results || !input.dataset.fragmentUrl) return;
  var timer = null;
  var latest = 0;

  function search(submitted) {
    var query = input.value.trim();
    var ticket = ++latest;
    if (query.length < 2 && !submitted) {
      if (!query) results.innerHTML = "";
      return;
    }
    var url = input.dataset.fragmentUrl + "?q=" + encodeURIComponent(query);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        // A redirect means the session ended: let the page search take the user to sign in.
        if (!response.ok || response.redirected) throw new Error("search failed");
        return response.text();
      })
      .then(function (html) {
        // The server escapes every value; only the newest answer is shown.
        if (ticket === latest) results.innerHTML = html;
      })
      .catch(function () {
        if (submitted && searchForm) searchForm.submit();  // fall back to the page search
      });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { search(false); }, 250);
  });
  if (searchForm) {
    searchForm.addEventListener("submit", function (event) {
      event.preventDefault();
      clearTimeout(timer);
      search(true);
    });
  }
})();
