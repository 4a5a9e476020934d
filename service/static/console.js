// Console enhancements shared by every page; pages work without them.
(function () {
  "use strict";
  // "/" focuses the search box, unless the user is typing somewhere.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    var field = document.querySelector("[data-shortcut='" + event.key + "']");
    if (field) {
      event.preventDefault();
      field.focus();
    }
  });
})();
