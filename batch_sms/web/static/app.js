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
  var order = live.dataset.statuses.split(" ");  // the statuses in their order, from the page
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
    var errors = field("errors");
    errors.textContent = "";
    now.errors.forEach(function (error) {
      var tr = document.createElement("tr");
      [error.at, error.row, error.code, error.reason].forEach(function (text) {
        var td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      });
      errors.appendChild(tr);
    });
    field("errors-box").hidden = now.errors.length === 0;
    var cost = field("cost");
    if (cost) {  // the summary's cost: receipts that come later bill more
      cost.textContent = "";
      now.cost.forEach(function (fact) {
        var tr = document.createElement("tr");
        var th = document.createElement("th");
        th.textContent = fact[0];
        var td = document.createElement("td");
        td.textContent = fact[1];
        tr.appendChild(th);
        tr.appendChild(td);
        cost.appendChild(tr);
      });
    }
    items(field("notes"), now.notes.concat(now.next));
    field("notes-box").hidden = now.notes.length + now.next.length === 0;
  }
  function chart(counts) {
    // The summary's bars, drawn again as receipts move rows from sent to delivered.
    var svg = field("chart");
    if (!svg) { return; }
    var ns = "http://www.w3.org/2000/svg";
    var bars = order.filter(function (status) { return counts[status]; });
    var top = Math.max.apply(null, bars.map(function (s) { return counts[s]; }).concat([1]));
    function add(name, attrs, text) {
      var node = document.createElementNS(ns, name);
      Object.keys(attrs).forEach(function (key) { node.setAttribute(key, attrs[key]); });
      if (text !== undefined) { node.textContent = text; }
      svg.appendChild(node);
    }
    svg.textContent = "";
    svg.setAttribute("height", bars.length * 34 + 8);
    svg.setAttribute("viewBox", "0 0 640 " + (bars.length * 34 + 8));
    bars.forEach(function (status, i) {
      var width = Math.round(1000 * 4.4 * counts[status] / top) / 10;
      add("text", { x: 0, y: i * 34 + 22, "class": "label" }, status);
      add("rect", { x: 120, y: i * 34 + 6, width: width, height: 24,
        "class": "bar status-" + status });
      add("text", { x: Math.round(10 * (128 + width)) / 10, y: i * 34 + 23, "class": "value" },
        counts[status].toLocaleString());
    });
  }
  function poll() {
    fetch(live.dataset.progressUrl, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (now) {
        var stop = field("stop");
        if (stop) { stop.hidden = now.state !== "sending"; }  // an ended send has nothing to stop
        if (live.dataset.state === "sending" && now.state !== "sending") {
          window.location.reload();  // the page of an ended send carries its summary
          return;
        }
        show(now);
        chart(now.counts);
        // While sending, and after the end while receipts are awaited (for a bounded time).
        if (now.watch) { setTimeout(poll, now.state === "sending" ? 1000 : 2000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
});

// The options page: a live preview of the template's first messages, with their encoding,
// length and segments, and the characters that forced UCS-2 marked.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.querySelector("[data-preview-url]");
  var area = document.getElementById("template");
  if (!box || !area) { return; }
  var list = box.querySelector('[data-field="preview-rows"]');
  var problem = box.querySelector('[data-field="preview-error"]');
  var timer = null;
  function marked(text, chars) {
    var span = document.createElement("span");
    span.className = "message";
    Array.from(text).forEach(function (ch) {
      if (chars.indexOf(ch) >= 0) {
        var mark = document.createElement("mark");
        mark.title = "not in GSM-7: makes the message UCS-2";
        mark.textContent = ch;
        span.appendChild(mark);
      } else {
        span.appendChild(document.createTextNode(ch));
      }
    });
    return span;
  }
  function show(answer) {
    list.textContent = "";
    problem.textContent = answer.error;
    answer.rows.forEach(function (row) {
      var li = document.createElement("li");
      var head = document.createElement("span");
      head.className = "row-number";
      head.textContent = "row " + row.row + ": ";
      li.appendChild(head);
      if (row.error) {
        var why = document.createElement("span");
        why.className = "client-error";
        why.textContent = row.error;
        li.appendChild(why);
      } else {
        li.appendChild(marked(row.text, row.ucs2));
        var facts = document.createElement("span");
        facts.className = "hint";
        facts.textContent = " " + row.encoding + " · " + row.units + " characters · " +
          row.segments + (row.segments === 1 ? " segment" : " segments");
        li.appendChild(facts);
      }
      list.appendChild(li);
    });
    box.hidden = !answer.error && answer.rows.length === 0;
  }
  function refresh() {
    var query = new URLSearchParams({ template: area.value, sheet: box.dataset.sheet });
    fetch(box.dataset.previewUrl + "?" + query.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(show)
      .catch(function () { /* the check still tells */ });
  }
  area.addEventListener("input", function () {
    var chosen = document.querySelector('input[name="source"][value="template"]');
    if (chosen) { chosen.checked = true; }  // writing a template means using it
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
  if (area.value.trim()) { refresh(); }
});
