// batch-sms web: the few live parts of the pages (no inline scripts: the CSP forbids them).
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // A select marked data-autosubmit submits its form when changed (the sheet choice).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // The upload form: drag and drop onto the zone, the chosen name shown, the size checked early.
  document.querySelectorAll("form.upload").forEach(function (form) {
    var zone = form.querySelector(".dropzone");
    var input = form.querySelector("input[type=file]");
    var label = form.querySelector(".dropzone-name");
    var problem = form.querySelector(".client-error");
    var limit = Number(form.dataset.maxBytes || 0);

    function show() {
      var file = input.files && input.files[0];
      label.textContent = file ? file.name : label.dataset.empty;
      zone.classList.toggle("chosen", Boolean(file));
      problem.hidden = true;
      if (file && limit && file.size > limit) {
        problem.textContent = file.name + " is larger than the upload limit of " +
          Math.round(limit / 1048576) + " MB.";
        problem.hidden = false;
      }
    }
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.remove("over");
      });
    });
    zone.addEventListener("drop", function (event) {
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        show();
      }
    });
    form.addEventListener("submit", function (event) {
      if (!problem.hidden) { event.preventDefault(); }
    });
  });
});
