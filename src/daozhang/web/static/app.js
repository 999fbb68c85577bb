/* daozhang 到账: the little script the pages need. No inline scripts (the CSP forbids them). */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // htmx requests carry the session's CSRF token in a header.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // Forms that ask before they act: <form data-confirm="...">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // -- the chart of money per day --------------------------------------------------
  function drawChart() {
    var canvas = document.getElementById("daily-chart");
    var source = document.getElementById("chart-data");
    if (!canvas || !source || !window.Chart) { return; }
    var data = JSON.parse(source.textContent);
    var colours = ["#94a3b8", "#0f766e", "#3b82f6", "#16a34a"];
    var styles = getComputedStyle(document.body);
    window.Chart.defaults.font.family = styles.fontFamily;
    window.Chart.defaults.color = "#5f6b7a";
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s, i) {
          return {
            label: s.label,
            // Drawing only: the numbers people read are the yuan strings in the table.
            data: s.values.map(function (v) { return parseFloat(v); }),
            backgroundColor: colours[i % colours.length],
            borderRadius: 3,
            maxBarThickness: 18
          };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                return ctx.dataset.label + ": " + data.series[ctx.datasetIndex].values[ctx.dataIndex] + " " + data.unit;
              }
            }
          }
        },
        scales: {
          x: { grid: { display: false } },
          y: { beginAtZero: true, grid: { color: "#eef1f4" } }
        }
      }
    });
  }

  // -- uploads: drag and drop, file list, progress -------------------------------------
  function formatSize(bytes) {
    if (bytes < 1024) { return bytes + " B"; }
    if (bytes < 1048576) { return (bytes / 1024).toFixed(1) + " KB"; }
    return (bytes / 1048576).toFixed(1) + " MB";
  }

  function setupUpload(form) {
    var input = form.querySelector('input[type="file"]');
    var zone = form.querySelector(".dropzone");
    var list = form.querySelector(".file-list");
    var bar = form.querySelector(".upload-progress");
    var error = form.querySelector(".alert.danger");
    var button = form.querySelector('button[type="submit"]');
    var maxBytes = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
    if (!input) { return; }

    function showFiles() {
      if (!list) { return; }
      list.innerHTML = "";
      Array.prototype.forEach.call(input.files, function (f) {
        var li = document.createElement("li");
        var name = document.createElement("span");
        name.textContent = f.name;
        var size = document.createElement("span");
        size.className = "muted";
        size.textContent = formatSize(f.size);
        li.appendChild(name);
        li.appendChild(size);
        list.appendChild(li);
      });
    }

    function fail(message) {
      if (error) { error.textContent = message; error.hidden = false; }
      if (bar) { bar.hidden = true; }
      if (button) { button.disabled = false; }
    }

    input.addEventListener("change", showFiles);
    if (zone) {
      ["dragenter", "dragover"].forEach(function (name) {
        zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("dragging"); });
      });
      ["dragleave", "drop"].forEach(function (name) {
        zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("dragging"); });
      });
      zone.addEventListener("drop", function (e) {
        if (e.dataTransfer && e.dataTransfer.files.length) {
          input.files = e.dataTransfer.files;
          showFiles();
        }
      });
    }

    form.addEventListener("submit", function (event) {
      if (!window.XMLHttpRequest || !window.FormData) { return; } // plain form post then
      event.preventDefault();
      if (error) { error.hidden = true; }
      var total = 0;
      Array.prototype.forEach.call(input.files, function (f) { total += f.size; });
      if (!input.files.length) { fail(form.getAttribute("data-empty") || "—"); return; }
      if (maxBytes && total > maxBytes) {
        fail((document.documentElement.lang === "en" ? "Too large: " : "文件太大：") +
          formatSize(total) + " > " + formatSize(maxBytes));
        return;
      }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", csrfToken());
      if (bar) { bar.hidden = false; bar.value = 0; }
      if (button) { button.disabled = true; }
      xhr.upload.addEventListener("progress", function (e) {
        if (bar && e.lengthComputable) { bar.value = Math.round((e.loaded / e.total) * 100); }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          window.location.href = xhr.responseURL;
          return;
        }
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var message = doc.querySelector(".error-message");
        fail(message ? message.textContent : ("HTTP " + xhr.status));
      });
      xhr.addEventListener("error", function () { fail("Network error / 网络错误"); });
      xhr.send(new FormData(form));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawChart();
    Array.prototype.forEach.call(document.querySelectorAll("form.upload-form"), setupUpload);
  });
})();
