// mmash page, host section: the machine's resources (/api/host) and charts of their history.
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var CHARTS = [
    { label: "host.cpu.percent", title: "CPU busy (%, 100 = one core)" },
    { label: "host.mem.available", title: "memory available (bytes)" },
    { label: "host.load.1", title: "load (1 min)" }
  ];
  var plots = {};

  function getJSON(url) {
    return fetch(url, { cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": HTTP " + r.status); }
      return r.json();
    });
  }

  var SI = ["", "k", "M", "G", "T", "P"];
  function fmt(v, unit) {
    if (typeof v !== "number" || !isFinite(v)) { return "–"; }
    if (unit === "percent") { return v.toFixed(1) + "%"; }
    var base = unit === "bytes" ? 1024 : 1000, i = 0, a = Math.abs(v);
    while (a >= base && i < SI.length - 1) { a /= base; v /= base; i++; }
    var s = (Number.isInteger(v) && i === 0) ? String(v) : v.toFixed(a < 10 ? 2 : a < 100 ? 1 : 0);
    return s + (unit === "bytes" ? " " + SI[i] + (i ? "iB" : "B") : SI[i]);
  }

  function cells(fields) {
    var by = {};
    fields.forEach(function (f) { by[f.label] = f; });
    var val = function (l) { return by[l] && typeof by[l].value === "number" ? by[l].value : null; };
    var rateSum = function (re) {
      var sum = null;
      fields.forEach(function (f) {
        if (re.test(f.label) && f.label.indexOf("host.net.lo.") !== 0 && typeof f.rate === "number") {
          sum = (sum || 0) + f.rate;
        }
      });
      return sum;
    };
    return [
      ["cpu", fmt(val("host.cpu.percent"), "percent"), "of " + (val("host.cpu.count") || "?") + " cores"],
      ["load", [val("host.load.1"), val("host.load.5"), val("host.load.15")].map(function (x) { return x === null ? "–" : x.toFixed(2); }).join(" "), "1, 5, 15 min"],
      ["memory", fmt(val("host.mem.used"), "bytes") + " used", fmt(val("host.mem.available"), "bytes") + " available of " + fmt(val("host.mem.total"), "bytes")],
      ["swap", fmt(val("host.swap.used"), "bytes") + " used", fmt(val("host.swap.percent"), "percent") + " of " + fmt(val("host.swap.total"), "bytes")],
      ["network", fmt(rateSum(/^host\.net\..*\.rx\.bytes$/), "bytes") + "/s in", fmt(rateSum(/^host\.net\..*\.tx\.bytes$/), "bytes") + "/s out"],
      ["disks", fmt(rateSum(/^host\.disk\..*\.read\.bytes$/), "bytes") + "/s read", fmt(rateSum(/^host\.disk\..*\.write\.bytes$/), "bytes") + "/s written"]
    ];
  }

  function render(j) {
    var file = j.stats.files[0];
    $("host-panel").hidden = false;
    $("host-name").textContent = j.host;
    var grid = $("host-cells");
    grid.textContent = "";
    cells(file ? file.fields : []).forEach(function (c) {
      var div = document.createElement("div");
      div.className = "host-cell";
      div.dataset.name = c[0];
      ["name", "value", "detail"].forEach(function (cls, i) {
        var s = document.createElement("span");
        s.className = cls;
        s.textContent = c[i];
        div.appendChild(s);
      });
      grid.appendChild(div);
    });
  }

  function pollHost() {
    return getJSON("/api/host").then(render).catch(function () { $("host-panel").hidden = true; });
  }

  function pollCharts() {
    if ($("host-panel").hidden) { return Promise.resolve(); }
    return Promise.all(CHARTS.map(function (c, i) {
      return getJSON("/api/history/" + encodeURIComponent(c.label) + "?res=second").then(function (p) {
        var first = p.mean.findIndex(function (v) { return v !== null; });
        var from = first < 0 ? 0 : Math.max(0, Math.min(first, p.t.length - 60));
        var data = [p.t.slice(from), p.mean.slice(from)];
        var el = $("host-chart-" + i);
        if (!plots[c.label]) {
          plots[c.label] = new uPlot({
            title: c.title,
            width: Math.max(240, el.clientWidth || 300),
            height: 150,
            scales: { x: { time: true } },
            legend: { show: false },
            series: [{}, { stroke: "#2f6fde", width: 2, spanGaps: false }],
            axes: [{}, { size: 80, values: function (u, vals) { return vals.map(function (v) { return fmt(v, c.label === "host.mem.available" ? "bytes" : ""); }); } }]
          }, data, el);
        } else {
          plots[c.label].setData(data);
        }
      }).catch(function () {});
    }));
  }

  var tick = 0;
  function loop() {
    tick++;
    var work = [pollHost()];
    if (tick % 2 === 0) { work.push(pollCharts()); }
    Promise.all(work).then(function () { setTimeout(loop, 2000); });
  }
  pollHost().then(pollCharts).then(function () { setTimeout(loop, 2000); });
})();
