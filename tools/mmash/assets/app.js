// mmash page: polls the JSON API and shows processes, fields and charts.
(function () {
  "use strict";

  var state = {
    files: [],          // from /api/files
    selected: null,     // path of the selected file
    fields: [],         // fields of the selected file, from /api/stats
    chartLabel: null,
    chartRes: "second",
    plot: null,
    filter: ""
  };

  var $ = function (id) { return document.getElementById(id); };

  function getJSON(url) {
    return fetch(url, { cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": HTTP " + r.status); }
      return r.json();
    });
  }

  function baseName(p) { var i = p.lastIndexOf("/"); return i < 0 ? p : p.slice(i + 1); }
  // A file name as a glob matching only itself.
  function globEscape(s) { return s.replace(/[*?[\]]/g, function (c) { return "[" + c + "]"; }); }

  var SI = ["", "k", "M", "G", "T", "P", "E"];
  function fmtNum(v) {
    if (v === null || v === undefined) { return "–"; }
    if (typeof v !== "number") { return String(v); }
    if (!isFinite(v)) { return String(v); }
    var a = Math.abs(v);
    if (a !== 0 && a < 0.01) { return v.toExponential(2); }
    if (a < 1000) { return Number.isInteger(v) ? String(v) : v.toFixed(a < 10 ? 3 : a < 100 ? 2 : 1); }
    var i = 0;
    while (a >= 1000 && i < SI.length - 1) { a /= 1000; v /= 1000; i++; }
    return v.toFixed(a < 10 ? 2 : a < 100 ? 1 : 0) + SI[i];
  }
  var TIME = { nanoseconds: 1e-9, microseconds: 1e-6, milliseconds: 1e-3, seconds: 1 };
  function fmtDur(seconds) {
    var a = Math.abs(seconds);
    if (a >= 1) { return fmtNum(seconds) + " s"; }
    if (a >= 1e-3) { return (seconds * 1e3).toFixed(a >= 0.1 ? 0 : a >= 0.01 ? 1 : 2) + " ms"; }
    if (a >= 1e-6) { return (seconds * 1e6).toFixed(a >= 1e-4 ? 0 : a >= 1e-5 ? 1 : 2) + " µs"; }
    return (seconds * 1e9).toFixed(0) + " ns";
  }
  function unitOf(f) { return f.unit || (f.kind === "timer" ? "nanoseconds" : ""); }
  function fmtIn(v, f) {
    if (typeof v !== "number") { return fmtNum(v); }
    var u = unitOf(f);
    if (TIME[u] !== undefined) { return fmtDur(v * TIME[u]); }
    if (u === "bytes") { return fmtNum(v) + "B"; }
    if (u === "percent") { return fmtNum(v) + "%"; }
    return fmtNum(v) + (u ? " " + u : "");
  }

  // [value, detail] shown for one field.
  function show(f) {
    if (f.error) { return ["error", f.error]; }
    var d = f.derived || {};
    switch (f.kind) {
      case "counter":
        return [fmtNum(f.value), f.rate === undefined ? "rate: –" : fmtNum(f.rate) + "/s" + (f.unit ? " " + f.unit : "")];
      case "text":
        return [String(f.value), ""];
      case "constant":
        return [typeof f.value === "string" ? f.value : fmtIn(f.value, f), "constant"];
      case "timestamp": {
        var s = f.value * (TIME[f.unit] || 1);
        var date = new Date(s * 1000);
        return [isNaN(date.getTime()) ? fmtNum(f.value) : date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"), ""];
      }
      case "histogram":
      case "timer":
        if (!d.count) { return ["–", "no values yet"]; }
        return ["p50 " + fmtIn(d.p50, f),
          "p90 " + fmtIn(d.p90, f) + " · p99 " + fmtIn(d.p99, f) + " · p99.9 " + fmtIn(d.p999, f) +
          " · mean " + fmtIn(d.mean, f) + " · n " + fmtNum(d.count)];
      case "average":
      case "moving_average":
        return [d.mean === undefined ? "–" : fmtIn(d.mean, f), "n " + fmtNum(d.count)];
      case "windowed":
        return [fmtNum(d.rate) + "/s", d.mean === undefined ? "" : "mean " + fmtIn(d.mean, f)];
      default:
        return [typeof f.value === "boolean" ? String(f.value) : fmtIn(f.value, f), ""];
    }
  }

  // Files grouped into processes: a process row (its command, pid and whether it is alive),
  // then its threads' files and its process file (the totals of threads that ended) beneath.
  function processKey(f) { return f.pid === null ? f.path : f.pid + "/" + (f.start_time || 0); }

  function renderFiles() {
    var ul = $("files");
    ul.textContent = "";
    var procs = [], byKey = {};
    state.files.forEach(function (f) {
      var k = processKey(f);
      if (!byKey[k]) { byKey[k] = { files: [], alive: false, f: f }; procs.push(byKey[k]); }
      byKey[k].files.push(f);
      if (f.liveness && f.liveness.alive) { byKey[k].alive = true; }
    });
    procs.forEach(function (p) {
      var head = document.createElement("li");
      head.className = "proc";
      var dot = document.createElement("span");
      dot.className = "dot" + (p.alive ? "" : " dead");
      dot.title = p.alive ? "alive" : "not running";
      var name = document.createElement("span");
      name.textContent = p.f.cmd || baseName(p.f.path);
      var meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = "pid " + (p.f.pid === null ? "?" : p.f.pid) + (p.alive ? "" : " · dead");
      head.appendChild(dot); head.appendChild(name); head.appendChild(meta);
      ul.appendChild(head);
      p.files.sort(function (a, b) { return (a.process_totals - b.process_totals) || ((a.tid || 0) - (b.tid || 0)); });
      p.files.forEach(function (f) {
        var li = document.createElement("li");
        li.className = "thread" + (f.path === state.selected ? " on" : "");
        li.dataset.path = f.path;
        li.title = f.path;
        var tag = document.createElement("span");
        tag.textContent = f.process_totals ? "└ totals" : "└ tid " + (f.tid === null ? "?" : f.tid);
        li.appendChild(tag);
        li.addEventListener("click", function () { select(f.path); });
        ul.appendChild(li);
      });
    });
    $("file-count").textContent = "(" + procs.length + " process" + (procs.length === 1 ? "" : "es") + ", " + state.files.length + " files)";
  }

  function select(path) {
    state.selected = path;
    renderFiles();
    pollStats();
  }

  // "key=value" (a value ending in "xx" or "*" matches by prefix) selects by a field's labels.
  function labelsMatch(f, q) {
    var m = /^([a-z_][a-z0-9_]*)\s*=\s*"?([^"]*)"?$/.exec(q);
    if (!m || !f.labels) { return false; }
    var want = m[2], stem = want.replace(/(\*|xx)$/, "");
    return Object.keys(f.labels).some(function (k) {
      if (k.toLowerCase() !== m[1]) { return false; }
      var v = f.labels[k].toLowerCase();
      return stem !== want ? v.indexOf(stem) === 0 : v === want;
    });
  }
  function groupOf(label) { var i = label.indexOf("."); return i < 0 ? "(top level)" : label.slice(0, i); }

  function renderFields() {
    var groups = $("groups");
    var q = state.filter.toLowerCase();
    var byGroup = {};
    var order = [];
    state.fields.forEach(function (f) {
      if (q && f.label.toLowerCase().indexOf(q) < 0 && (f.help || "").toLowerCase().indexOf(q) < 0 && !labelsMatch(f, q)) { return; }
      var g = groupOf(f.label);
      if (!byGroup[g]) { byGroup[g] = []; order.push(g); }
      byGroup[g].push(f);
    });
    groups.textContent = "";
    order.sort();
    order.forEach(function (g) {
      var sec = document.createElement("section");
      sec.className = "group";
      var h = document.createElement("h3");
      h.textContent = g;
      sec.appendChild(h);
      var table = document.createElement("table");
      byGroup[g].forEach(function (f) {
        var tr = document.createElement("tr");
        var numeric = f.kind !== "text" && typeof f.value !== "string";
        tr.className = "field" + (numeric ? "" : " text") + (f.label === state.chartLabel ? " sel" : "");
        tr.dataset.label = f.label;
        tr.title = f.help || "";
        var s = show(f);
        [[f.label, "label"], [f.kind, "kind"], [s[0], "value" + (f.error ? " err" : "")], [s[1], "detail"]].forEach(function (c) {
          var td = document.createElement("td");
          td.className = c[1];
          td.textContent = c[0];
          tr.appendChild(td);
        });
        if (numeric) { tr.addEventListener("click", function () { openChart(f.label); }); }
        table.appendChild(tr);
      });
      sec.appendChild(table);
      groups.appendChild(sec);
    });
    $("empty").hidden = order.length > 0 || state.fields.length === 0;
  }

  function setStatus(text) { $("status").textContent = text; }

  function pollFiles() {
    return getJSON("/api/files").then(function (j) {
      state.files = j.files;
      if (!state.files.some(function (f) { return f.path === state.selected; })) {
        state.selected = state.files.length ? state.files[0].path : null;
      }
      renderFiles();
    }).catch(function (e) { setStatus(e.message); });
  }

  function pollStats() {
    if (!state.selected) { state.fields = []; renderFields(); setStatus("no stats files found"); return Promise.resolve(); }
    var path = state.selected;
    return getJSON("/api/stats?glob=" + encodeURIComponent(globEscape(baseName(path)))).then(function (j) {
      var file = j.files.filter(function (f) { return f.path === path; })[0];
      if (path !== state.selected) { return; }
      state.fields = file ? file.fields : [];
      renderFields();
      setStatus("updated " + new Date().toLocaleTimeString());
    }).catch(function (e) { setStatus(e.message); });
  }

  function openChart(label) {
    state.chartLabel = label;
    $("chart-panel").hidden = false;
    $("chart-title").textContent = label;
    if (state.plot) { state.plot.destroy(); state.plot = null; }
    renderFields();
    pollChart();
  }

  function closeChart() {
    state.chartLabel = null;
    if (state.plot) { state.plot.destroy(); state.plot = null; }
    $("chart-panel").hidden = true;
    renderFields();
  }

  function chartWidth() { return Math.max(300, $("chart").clientWidth || 600); }

  function pollChart() {
    var label = state.chartLabel, res = state.chartRes;
    if (!label) { return Promise.resolve(); }
    return getJSON("/api/history/" + encodeURIComponent(label) + "?res=" + res).then(function (p) {
      if (label !== state.chartLabel || res !== state.chartRes) { return; }
      var name = p.rate ? "rate /s" : "mean";
      $("chart-note").textContent = "all processes combined · " + (p.rate ? "rate per second" : p.kind) + (p.unit ? " · " + p.unit : "");
      // start at the first point with a value (keeping at least a minute) so that a young
      // history is not squeezed against the right edge
      var first = p.mean.findIndex(function (v) { return v !== null; });
      var from = first < 0 ? 0 : Math.max(0, Math.min(first, p.t.length - 60));
      var cut = function (a) { return a.slice(from); };
      var data = [cut(p.t), cut(p.mean), cut(p.min), cut(p.max)];
      if (!state.plot) {
        state.plot = new uPlot({
          width: chartWidth(),
          height: 260,
          scales: { x: { time: true } },
          series: [
            {},
            { label: name, stroke: "#2f6fde", width: 2, spanGaps: false },
            { label: "min", stroke: "#9bb7ea", width: 1, dash: [4, 4] },
            { label: "max", stroke: "#9bb7ea", width: 1, dash: [4, 4] }
          ],
          axes: [{}, { size: 70, values: function (u, vals) { return vals.map(fmtNum); } }]
        }, data, $("chart"));
      } else {
        state.plot.setData(data);
      }
    }).catch(function (e) { setStatus(e.message); });
  }

  function setRes(res) {
    state.chartRes = res;
    Array.prototype.forEach.call(document.querySelectorAll(".res button"), function (b) {
      b.className = b.dataset.res === res ? "on" : "";
    });
    if (state.plot) { state.plot.destroy(); state.plot = null; }
    pollChart();
  }

  ["input", "change", "search"].forEach(function (ev) {
    $("search").addEventListener(ev, function (e) {
      if (state.filter !== e.target.value) { state.filter = e.target.value; renderFields(); }
    });
  });
  $("chart-close").addEventListener("click", closeChart);
  Array.prototype.forEach.call(document.querySelectorAll(".res button"), function (b) {
    b.addEventListener("click", function () { setRes(b.dataset.res); });
  });
  window.addEventListener("resize", function () {
    if (state.plot) { state.plot.setSize({ width: chartWidth(), height: 260 }); }
  });

  var tick = 0;
  function loop() {
    tick++;
    var work = [pollStats()];
    if (tick % 5 === 0) { work.push(pollFiles()); }
    if (state.chartLabel && (state.chartRes === "second" || tick % 30 === 0)) { work.push(pollChart()); }
    Promise.all(work).then(function () { setTimeout(loop, 1000); });
  }
  pollFiles().then(function () { loop(); });
})();
