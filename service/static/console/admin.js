// Admin pages: confirm destructive forms; hide the hours field while "holiday" is chosen.
// Every page works without this script.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  var dayForm = document.getElementById("add-day");
  if (!dayForm) return;
  var hours = dayForm.querySelector("[name=hours]");
  var field = hours && hours.closest(".field");
  if (!field) return;
  field.classList.add("hours-field");
  function sync() {
    var chosen = dayForm.querySelector("[name=kind]:checked");
    dayForm.classList.toggle("is-holiday", !chosen || chosen.value === "holiday");
  }
  dayForm.addEventListener("change", sync);
  sync();
})();
