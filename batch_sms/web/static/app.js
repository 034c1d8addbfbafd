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

// The run page: poll the send's JSON until it ends, and show where it stands.
document.addEventListener("DOMContentLoaded", function () {
  var live = document.querySelector("[data-progress-url]");
  if (!live) { return; }
  var order = ["ready", "invalid", "duplicate", "suppressed", "pending", "sent", "delivered",
    "undelivered", "failed", "capped", "unknown"];
  function field(name) { return live.querySelector('[data-field="' + name + '"]'); }
  function items(list, texts) {
    list.textContent = "";
    texts.forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      list.appendChild(li);
    });
  }
  function show(now) {
    var state = field("state");
    state.textContent = now.state;
    state.className = "state state-" + now.state;
    field("run_id").textContent = now.run_id ? "run " + now.run_id : "";
    field("bar").max = now.total || 1;
    field("bar").value = now.done;
    field("done").textContent = now.done.toLocaleString();
    field("total").textContent = now.total.toLocaleString();
    field("rate").textContent = now.rate;
    field("eta").textContent = now.eta === null ? "" : " · about " + now.eta + " s left";
    var tiles = field("counts");
    tiles.textContent = "";
    order.forEach(function (status) {
      if (!now.counts[status]) { return; }
      var li = document.createElement("li");
      li.className = "tile status-" + status;
      var big = document.createElement("span");
      big.className = "big";
      big.textContent = now.counts[status].toLocaleString();
      li.appendChild(big);
      li.appendChild(document.createTextNode(" " + status));
      tiles.appendChild(li);
    });
    field("error").hidden = !now.error;
    field("error-text").textContent = now.error;
    field("hint").textContent = now.hint;
    var files = field("file-list");
    files.textContent = "";
    now.files.forEach(function (file) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = file.href;
      a.textContent = file.name;
      li.appendChild(a);
      files.appendChild(li);
    });
    field("files").hidden = now.files.length === 0;
    items(field("notes"), now.notes.concat(now.next));
    field("notes-box").hidden = now.notes.length + now.next.length === 0;
  }
  function poll() {
    fetch(live.dataset.progressUrl, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (now) {
        if (live.dataset.state === "sending" && now.state !== "sending") {
          window.location.reload();  // the page of an ended send carries its summary
          return;
        }
        show(now);
        if (now.state === "sending") { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
});
