// mmash page: processes, a grid of live charts, a table with sparklines, host resources and a
// compare chart; the view is kept in the URL's hash so a link reproduces it.
(function () {
  "use strict";

  var U = window.mmashUnits, C = window.mmashChart;
  var $ = function (id) { return document.getElementById(id); };
  var RES = { second: "last 10 minutes", minute: "last hour", hour: "last day" };
  // labels that name something rather than measure it: shown whole, never charted
  var ID = /(^|[._])(pid|tid|ppid|uid|gid|id|port|version|year)$/i;
  // the resources mmash reads from /proc for each process (`proc.*`): charted after the stats
  var RESOURCE = /^proc\./;

  var state = {
    processes: [], host: null,
    process: "all", res: "second", q: "", overlay: null, picks: [],
    view: null, hostView: null, compare: null,
    cards: {}, firstChart: null
  };

  function getJSON(url) {
    return fetch(url, { cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": HTTP " + r.status); }
      return r.json();
    });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function setStatus(t) { $("status").textContent = t; }

  // ---- the URL ----
  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    state.process = p.get("process") || "all";
    state.res = RES[p.get("res")] ? p.get("res") : "second";
    state.q = p.get("q") || "";
    state.overlay = p.get("overlay") || null;
    state.picks = (p.get("pick") || "").split(";").filter(Boolean);
  }
  function writeHash() {
    var p = new URLSearchParams();
    if (state.process !== "all") { p.set("process", state.process); }
    if (state.res !== "second") { p.set("res", state.res); }
    if (state.q) { p.set("q", state.q); }
    if (state.overlay) { p.set("overlay", state.overlay); }
    if (state.picks.length) { p.set("pick", state.picks.join(";")); }
    var h = p.toString();
    history.replaceState(null, "", h ? "#" + h : location.pathname + location.search);
  }

  // ---- columns kept between polls: new points shift in on the right ----
  // buf: {step, end, n, lines: {key: values}}; resp: {t0, step, n}; each(resp, put(key, values))
  function merge(buf, resp, each) {
    var end = resp.t0 + (resp.n - 1) * resp.step;
    if (!buf || buf.step !== resp.step || buf.full) {
      buf = { step: resp.step, end: end, n: resp.n, lines: {} };
    } else if (end > buf.end) {
      var shift = Math.round((end - buf.end) / buf.step);
      Object.keys(buf.lines).forEach(function (k) {
        var a = buf.lines[k];
        buf.lines[k] = shift >= buf.n ? new Array(buf.n).fill(null) : a.slice(shift).concat(new Array(shift).fill(null));
      });
      buf.end = end;
    }
    each(function (key, values, from) {
      var a = buf.lines[key] || (buf.lines[key] = new Array(buf.n).fill(null));
      for (var i = 0; i < values.length; i++) {
        var at = buf.n - 1 - Math.round((buf.end - (resp.t0 + (i + (from || 0)) * resp.step)) / buf.step);
        if (at >= 0 && at < buf.n) { a[at] = values[i]; }
      }
    });
    return buf;
  }
  function t0Of(buf) { return buf.end - (buf.n - 1) * buf.step; }
  function sinceOf(buf) { return buf && state.res === "second" ? "&since=" + (buf.end - 5) : ""; }

  // ---- processes ----
  function processName(p) { return (p.cmd || "?") + " " + (p.pid === null ? "" : p.pid); }

  function renderProcesses() {
    var ul = $("procs");
    // keep the focus and the unfolded thread lists across a redraw
    var focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("#procs > li");
    var focusKey = focused ? focused.dataset.key : null;
    var open = {};
    Array.prototype.forEach.call(ul.querySelectorAll("#procs > li"), function (li) {
      var d = li.querySelector("details");
      if (d && d.open) { open[li.dataset.key] = true; }
    });
    ul.textContent = "";
    var n = state.processes.length;
    var all = [{ key: "all", label: "All processes", meta: n + (n === 1 ? " process" : " processes") }];
    all.concat(state.processes).forEach(function (p) {
      var li = el("li", "proc" + (p.key === state.process ? " on" : "") + (p.alive === false ? " dead" : ""));
      li.dataset.key = p.key;
      var b = el("button", "pick-proc");
      b.setAttribute("aria-pressed", p.key === state.process ? "true" : "false");
      if (p.label) {
        b.appendChild(el("span", "name", p.label));
        b.appendChild(el("span", "muted", p.meta));
      } else {
        var dot = el("span", "dot" + (p.alive ? "" : " dead"));
        dot.setAttribute("aria-hidden", "true");
        b.appendChild(dot);
        b.appendChild(el("span", "name", p.cmd || "?"));
        b.appendChild(el("span", "pid", "pid " + U.whole(p.pid)));
        b.appendChild(el("span", "state" + (p.alive ? "" : " dead"), p.alive ? "" : "exited"));
        b.setAttribute("aria-label", (p.cmd || "?") + ", pid " + U.whole(p.pid) + (p.alive ? ", running" : ", exited") + ", " + p.threads.length + " files");
        if (!p.alive && p.why) { b.title = p.why; }
      }
      b.addEventListener("click", function () { selectProcess(p.key); });
      li.appendChild(b);
      if (p.threads && p.threads.length) {
        var d = el("details");
        d.open = !!open[p.key];
        var nt = p.threads.filter(function (t) { return !t.totals && !t.resources; }).length;
        var sum = el("summary", "muted", nt + (nt === 1 ? " thread" : " threads"));
        d.appendChild(sum);
        var tl = el("ul");
        p.threads.forEach(function (t) {
          var what = t.resources ? "resources from /proc" : t.totals ? "totals of ended threads" : "tid " + U.whole(t.tid) + (t.ended ? " · ended" : "");
          var tli = el("li", "thread" + (t.ended ? " ended" : ""), what);
          tli.title = t.path;
          tl.appendChild(tli);
        });
        d.appendChild(tl);
        li.appendChild(d);
      }
      ul.appendChild(li);
    });
    $("proc-count").textContent = "(" + state.processes.length + ")";
    if (focusKey) {
      var again = ul.querySelector("li[data-key=\"" + focusKey.replace(/["\\]/g, "\\$&") + "\"] button");
      if (again) { again.focus(); }
    }
  }

  function selectProcess(key) {
    if (state.process === key) { return; }
    state.process = key;
    state.view = null;
    clearCards();
    writeHash();
    renderProcesses();
    pollView();
  }

  // The files the latest scan could not read, each "path: what is wrong", under the processes.
  function renderErrors(errors) {
    var box = $("errors");
    var list = errors || [];
    box.hidden = list.length === 0;
    $("errors-count").textContent = list.length + (list.length === 1 ? " file" : " files") + " could not be read";
    var ul = $("error-list");
    var shown = Array.prototype.map.call(ul.children, function (li) { return li.textContent; });
    if (shown.join("\n") === list.join("\n")) { return; }
    ul.textContent = "";
    list.forEach(function (e) { ul.appendChild(el("li", "error", e)); });
  }

  function pollProcesses() {
    return getJSON("/api/dashboard/processes").then(function (j) {
      state.processes = j.processes;
      state.host = j.host;
      renderErrors(j.errors);
      if (state.process !== "all" && !j.processes.some(function (p) { return p.key === state.process; })) {
        setStatus("process " + state.process + " is gone; showing all");
        state.process = "all";
        state.view = null;
        clearCards();
        writeHash();
      }
      renderProcesses();
    }).catch(function (e) { setStatus(e.message); });
  }

  // ---- the chart grid ----
  function chartable(c) { return !ID.test(c.label); }
  function linesOf(c) {
    if (c.kind === "histogram" || c.kind === "timer") {
      return c.lines.filter(function (l) { return l.name; });
    }
    return c.lines;
  }
  function lineName(c, name) {
    if (name) { return name; }
    return c.rate ? "rate" : c.kind === "average" ? "mean" : "value";
  }
  // the label a card overlays or picks: a histogram's p99, else the label itself
  function seriesLabel(c) { return c.kind === "histogram" || c.kind === "timer" ? c.label + ".p99" : c.label; }

  function clearCards() { state.cards = {}; $("grid").textContent = ""; }

  function card(c) {
    var fig = el("figure", "card");
    fig.dataset.label = c.label;
    fig.tabIndex = 0;
    var cap = el("figcaption");
    var title = el("span", "title", c.label);
    title.title = c.label;
    cap.appendChild(title);
    var ov = el("button", "overlay", "⇆");
    ov.title = "compare " + seriesLabel(c) + " across processes";
    ov.setAttribute("aria-label", ov.title);
    ov.addEventListener("click", function () { setOverlay(seriesLabel(c)); });
    var pk = el("button", "pick", "+");
    pk.title = "add " + seriesLabel(c) + " to the compare chart";
    pk.setAttribute("aria-label", pk.title);
    pk.addEventListener("click", function () { togglePick(seriesLabel(c) + "@" + state.process); });
    cap.appendChild(ov);
    cap.appendChild(pk);
    fig.appendChild(cap);
    var sub = el("div", "sub");
    sub.appendChild(el("span", "kind muted", c.kind + (c.rate ? " · per second" : "") +
      (c.kind === "histogram" || c.kind === "timer" ? " · p50 p90 p99" : "")));
    var now = el("span", "now");
    sub.appendChild(now);
    fig.appendChild(sub);
    var plot = el("div", "plot");
    fig.appendChild(plot);
    var tip = el("div", "tip muted");
    tip.hidden = true;
    fig.appendChild(tip);
    C.hover(plot, tip);
    return { fig: fig, plot: plot, now: now, pick: pk };
  }

  function drawGrid() {
    var v = state.view;
    if (!v) { return; }
    var grid = $("grid");
    var q = state.q.toLowerCase();
    var t0 = t0Of(v.buf);
    var charts = v.charts.filter(chartable);
    charts = charts.filter(function (c) { return !RESOURCE.test(c.label); }).concat(charts.filter(function (c) { return RESOURCE.test(c.label); }));
    charts.forEach(function (c) {
      var k = state.cards[c.label];
      if (!k) {
        k = state.cards[c.label] = card(c);
        grid.appendChild(k.fig);
      }
      k.fig.hidden = !!q && c.label.toLowerCase().indexOf(q) < 0;
      if (k.fig.hidden) { return; }
      var lines = linesOf(c).map(function (l) {
        return { name: lineName(c, l.name), values: v.buf.lines[c.label + "/" + l.name] || [] };
      });
      var summary = C.draw(k.plot, { t0: t0, step: v.buf.step, lines: lines, unit: c.unit, rate: c.rate,
        title: c.label + " (" + RES[state.res] + ")", height: 130 });
      k.now.textContent = lines.length === 1 ? summary.replace(/^\S+ /, "") : lines.map(function (l) {
        return l.name + " " + U.compact(C.last(l.values), c.unit);
      }).slice(-1)[0];
      k.pick.setAttribute("aria-pressed", state.picks.indexOf(seriesLabel(c) + "@" + state.process) >= 0 ? "true" : "false");
      if (state.firstChart === null && lines.some(function (l) { return C.last(l.values) !== null; })) {
        state.firstChart = performance.now();
        window.mmashFirstChart = state.firstChart;
      }
    });
    var title = state.process === "all" ? "All processes" : (function () {
      var p = state.processes.filter(function (x) { return x.key === state.process; })[0];
      return p ? processName(p) + (p.alive ? "" : " (exited)") : state.process;
    })();
    $("view-title").textContent = title;
    $("view-note").textContent = RES[state.res] + (state.process === "all" ? " · combined over processes" : "");
  }

  // ---- the table ----
  function groupOf(label) { var i = label.indexOf("."); return i < 0 ? "(top level)" : label.slice(0, i); }
  function num(x) { return typeof x === "number" ? x : null; }

  // [value, detail] of one series now
  function show(f) {
    var iv = f.interval || {}, u = f.unit || (f.kind === "timer" ? "nanoseconds" : "");
    var v = f.value;
    switch (f.kind) {
      case "counter":
        // a total is whole (a count of requests), bytes and durations in their units
        return [U.scalar(num(v), u), U.rate(f.rate === undefined ? null : f.rate, u)];
      case "text":
        return [String(v === undefined ? "–" : v), ""];
      case "timestamp":
        var d = new Date(v * ({ nanoseconds: 1e-6, microseconds: 1e-3, milliseconds: 1, seconds: 1000 }[u] || 1000));
        return [isNaN(d.getTime()) ? U.whole(v) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"), ""];
      case "histogram":
      case "timer":
        if (!iv.count) { return ["–", v && v.count ? "idle · " + U.whole(v.count) + " in all" : "no values yet"]; }
        return ["p50 " + U.compact(iv.p50, u), "p90 " + U.compact(iv.p90, u) + " · p99 " + U.compact(iv.p99, u) +
          " · mean " + U.compact(iv.mean, u) + " · " + U.count(iv.count) + " values"];
      case "average":
        return [iv.mean === undefined ? "–" : U.compact(iv.mean, u), iv.count === undefined ? "" : U.count(iv.count) + " values"];
      case "windowed":
        return [U.rate(f.rate === undefined ? null : f.rate, u), iv.mean === undefined ? "" : "mean " + U.compact(iv.mean, u)];
      case "moving_average":
        return [v && v.window_count ? U.compact(v.window_sum / v.window_count, u) : "–", ""];
      default:
        if (typeof v === "boolean") { return [String(v), ""]; }
        // constants (ids, versions, sizes set once) are never scaled, as mmstats-render's rule
        if (ID.test(f.label) || f.kind === "constant") { return [U.whole(v), f.kind === "constant" ? "constant" : ""]; }
        return [U.scalar(v, u), f.kind === "constant" ? "constant" : ""];
    }
  }

  function sparkOf(f) {
    var v = state.view;
    if (!v) { return ""; }
    var key = f.kind === "histogram" || f.kind === "timer" ? f.label + "/p99" : f.label + "/";
    var a = v.buf.lines[key];
    return a && !ID.test(f.label) ? C.spark(a) : "";
  }

  var tableRows = {}, tableShape = null;
  function renderTable() {
    var v = state.view, groups = $("groups");
    if (!v) { groups.textContent = ""; tableShape = null; return; }
    var q = state.q.toLowerCase();
    var shape = q + "|" + v.fields.map(function (f) { return f.label; }).join(",") + "|" + Object.keys(state.cards).length;
    if (shape === tableShape) {
      // the same rows: new values in place, so focus and scrolling stay
      v.fields.forEach(function (f) {
        var tr = tableRows[f.label];
        if (!tr) { return; }
        var s = show(f);
        tr.querySelector("td.value").textContent = s[0];
        tr.querySelector("td.detail").textContent = s[1];
        tr.querySelector("td.spark-cell").innerHTML = sparkOf(f);
      });
      return;
    }
    tableShape = shape;
    tableRows = {};
    groups.textContent = "";
    var byGroup = {}, order = [];
    v.fields.forEach(function (f) {
      if (q && f.label.toLowerCase().indexOf(q) < 0 && (f.help || "").toLowerCase().indexOf(q) < 0) { return; }
      var g = groupOf(f.label);
      if (!byGroup[g]) { byGroup[g] = []; order.push(g); }
      byGroup[g].push(f);
    });
    order.sort().forEach(function (g) {
      var sec = el("section", "group");
      sec.appendChild(el("h3", "", g));
      var table = el("table");
      byGroup[g].forEach(function (f) {
        var tr = el("tr", "field" + (f.kind === "text" || typeof f.value === "string" ? " text" : ""));
        tr.dataset.label = f.label;
        tr.title = f.help || "";
        tableRows[f.label] = tr;
        var s = show(f);
        [[f.label, "label"], [f.kind, "kind"], [s[0], "value"], [s[1], "detail"]].forEach(function (c) {
          tr.appendChild(el("td", c[1], c[0]));
        });
        var sp = el("td", "spark-cell");
        sp.innerHTML = sparkOf(f);
        tr.appendChild(sp);
        if (state.cards[f.label]) {
          tr.tabIndex = 0;
          var go = function () { state.cards[f.label].fig.focus(); state.cards[f.label].fig.scrollIntoView({ block: "center" }); };
          tr.addEventListener("click", go);
          tr.addEventListener("keydown", function (e) { if (e.key === "Enter") { go(); } });
        }
        table.appendChild(tr);
      });
      sec.appendChild(table);
      groups.appendChild(sec);
    });
    $("empty").hidden = order.length > 0 || v.fields.length === 0;
  }

  function pollView() {
    var key = state.process, res = state.res;
    var url = "/api/dashboard/view?process=" + encodeURIComponent(key) + "&res=" + res + sinceOf(state.view && state.view.buf);
    return getJSON(url).then(function (j) {
      if (key !== state.process || res !== state.res) { return; }
      var old = state.view;
      var buf = merge(old && old.buf, j, function (put) {
        j.charts.forEach(function (c) { c.lines.forEach(function (l) { put(c.label + "/" + l.name, l.values, l.at); }); });
      });
      state.view = { buf: buf, charts: j.charts, fields: j.fields };
      drawGrid();
      renderTable();
      setStatus("updated " + new Date().toLocaleTimeString());
    }).catch(function (e) { setStatus(e.message); });
  }

  // ---- host resources ----
  var HOST_CHARTS = [
    { label: "host.cpu.percent", title: "CPU busy (100% = one core)" },
    { label: "host.mem.available", title: "memory available" },
    { label: "host.load.1", title: "load (1 min)" }
  ];
  function hostCells(fields) {
    var by = {};
    fields.forEach(function (f) { by[f.label] = f; });
    var val = function (l) { return by[l] && typeof by[l].value === "number" ? by[l].value : null; };
    var rateSum = function (re) {
      var sum = null;
      fields.forEach(function (f) {
        if (re.test(f.label) && f.label.indexOf("host.net.lo.") !== 0 && typeof f.rate === "number") { sum = (sum || 0) + f.rate; }
      });
      return sum;
    };
    return [
      ["cpu", U.compact(val("host.cpu.percent"), "percent"), "of " + U.whole(val("host.cpu.count")) + " cores"],
      ["load", [val("host.load.1"), val("host.load.5"), val("host.load.15")].map(function (x) { return x === null ? "–" : x.toFixed(2); }).join(" "), "1, 5, 15 min"],
      ["memory", U.compact(val("host.mem.used"), "bytes") + " used", U.compact(val("host.mem.available"), "bytes") + " available of " + U.compact(val("host.mem.total"), "bytes")],
      ["swap", U.compact(val("host.swap.used"), "bytes") + " used", "of " + U.compact(val("host.swap.total"), "bytes")],
      ["network", U.rate(rateSum(/^host\.net\..*\.rx\.bytes$/), "bytes") + " in", U.rate(rateSum(/^host\.net\..*\.tx\.bytes$/), "bytes") + " out"],
      ["disks", U.rate(rateSum(/^host\.disk\..*\.read\.bytes$/), "bytes") + " read", U.rate(rateSum(/^host\.disk\..*\.write\.bytes$/), "bytes") + " written"]
    ];
  }

  function pollHost() {
    if (!state.host) { $("host-panel").hidden = true; return Promise.resolve(); }
    var url = "/api/dashboard/view?process=host&res=" + state.res + "&select=host.cpu,host.load,host.mem,host.swap,host.net,host.disk" + sinceOf(state.hostView && state.hostView.buf);
    var res = state.res;
    return getJSON(url).then(function (j) {
      if (res !== state.res) { return; }
      var old = state.hostView;
      var buf = merge(old && old.buf, j, function (put) {
        j.charts.forEach(function (c) { if (HOST_CHARTS.some(function (h) { return h.label === c.label; })) { put(c.label, c.lines[0].values, c.lines[0].at); } });
      });
      state.hostView = { buf: buf, charts: j.charts };
      $("host-panel").hidden = false;
      $("host-name").textContent = state.host;
      var grid = $("host-cells");
      grid.textContent = "";
      hostCells(j.fields).forEach(function (c) {
        var div = el("div", "host-cell");
        div.dataset.name = c[0];
        div.appendChild(el("span", "name", c[0]));
        div.appendChild(el("span", "value", c[1]));
        div.appendChild(el("span", "detail", c[2]));
        grid.appendChild(div);
      });
      HOST_CHARTS.forEach(function (h, i) {
        var c = j.charts.filter(function (x) { return x.label === h.label; })[0];
        var box = $("host-chart-" + i);
        box.previousElementSibling.textContent = h.title;
        C.draw(box, { t0: t0Of(buf), step: buf.step, lines: [{ name: h.label, values: buf.lines[h.label] || [] }],
          unit: c ? c.unit : "", rate: false, title: h.title, height: 110 });
      });
    }).catch(function () { $("host-panel").hidden = true; });
  }

  // ---- compare ----
  function setOverlay(label) {
    state.overlay = state.overlay === label ? null : label;
    state.compare = null;
    writeHash();
    pollCompare();
  }
  function togglePick(line) {
    var i = state.picks.indexOf(line);
    if (i >= 0) { state.picks.splice(i, 1); } else { state.picks.push(line); }
    state.compare = null;
    writeHash();
    pollCompare();
    drawGrid();
  }
  function compareLines() {
    var lines = state.picks.slice();
    if (state.overlay) { lines.unshift(state.overlay + "@*"); }
    return lines;
  }

  function drawCompare(j) {
    var panel = $("compare-panel");
    var buf = state.compare.buf;
    var lines = j.lines.map(function (l) {
      var who = l.process === "all" ? "all processes" : (l.cmd || "?") + " " + U.whole(l.pid) + (l.alive ? "" : " (exited)");
      var name = state.overlay && !state.picks.length ? who : l.label + " · " + who;
      return { name: name, values: buf.lines[l.label + "@" + l.process] || [], unit: l.unit || "", rate: l.rate };
    });
    panel.hidden = false;
    $("compare-title").textContent = state.overlay ? state.overlay + " across processes" + (state.picks.length ? " and picked labels" : "") : "Picked labels";
    // one axis per unit: lines of another unit (a rate beside a latency) get a chart of their own
    var groups = [], byUnit = {};
    lines.forEach(function (l, i) {
      var k = l.unit + (l.rate ? "/s" : "");
      if (!byUnit[k]) { byUnit[k] = { unit: l.unit, rate: !!l.rate, lines: [] }; groups.push(byUnit[k]); }
      l.colour = C.colours[i % C.colours.length];
      byUnit[k].lines.push(l);
    });
    var box = $("compare-chart");
    while (box.children.length > groups.length) { box.removeChild(box.lastChild); }
    while (box.children.length < groups.length) { box.appendChild(el("div", "plot")); }
    groups.forEach(function (g, i) {
      C.draw(box.children[i], { t0: t0Of(buf), step: buf.step, lines: g.lines, unit: g.unit, rate: g.rate,
        title: $("compare-title").textContent + (groups.length > 1 ? " (" + (g.unit || "count") + (g.rate ? " per second" : "") + ")" : ""),
        height: groups.length > 1 ? 160 : 220 });
    });
    var legend = $("compare-legend");
    legend.textContent = "";
    lines.forEach(function (l, i) {
      var item = el("li");
      var sw = el("span", "swatch");
      sw.style.background = l.colour || C.colours[i % C.colours.length];
      sw.setAttribute("aria-hidden", "true");
      item.appendChild(sw);
      item.appendChild(el("span", "", l.name + " " + (l.rate ? U.rate(C.last(l.values), l.unit) : U.compact(C.last(l.values), l.unit))));
      legend.appendChild(item);
    });
    $("compare-note").textContent = (j.truncated ? "only the first " + j.lines.length + " lines · " : "") + RES[state.res];
  }

  function pollCompare() {
    var lines = compareLines();
    if (!lines.length) { $("compare-panel").hidden = true; return Promise.resolve(); }
    var res = state.res, want = lines.join(",");
    var url = "/api/dashboard/compare?lines=" + encodeURIComponent(want) + "&res=" + res + sinceOf(state.compare && state.compare.buf);
    return getJSON(url).then(function (j) {
      if (res !== state.res || want !== compareLines().join(",")) { return; }
      var old = state.compare;
      var buf = merge(old && old.buf, j, function (put) {
        j.lines.forEach(function (l) { put(l.label + "@" + l.process, l.values, l.at); });
      });
      state.compare = { buf: buf };
      drawCompare(j);
    }).catch(function (e) { setStatus(e.message); });
  }

  function clearCompare() {
    state.overlay = null;
    state.picks = [];
    state.compare = null;
    $("compare-panel").hidden = true;
    writeHash();
    drawGrid();
  }

  // ---- controls ----
  function setRes(res) {
    state.res = res;
    state.view = null; state.hostView = null; state.compare = null;
    writeHash();
    syncControls();
    refresh();
  }
  function syncControls() {
    Array.prototype.forEach.call(document.querySelectorAll("#res button"), function (b) {
      b.setAttribute("aria-pressed", b.dataset.res === state.res ? "true" : "false");
    });
    if ($("search").value !== state.q) { $("search").value = state.q; }
  }

  ["input", "search"].forEach(function (ev) {
    $("search").addEventListener(ev, function (e) {
      if (state.q !== e.target.value) { state.q = e.target.value; writeHash(); drawGrid(); renderTable(); }
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("#res button"), function (b) {
    b.addEventListener("click", function () { setRes(b.dataset.res); });
  });
  $("compare-clear").addEventListener("click", clearCompare);
  // arrow keys move between processes
  $("procs").addEventListener("keydown", function (e) {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") { return; }
    var bs = Array.prototype.slice.call(document.querySelectorAll("#procs button.pick-proc"));
    var i = bs.indexOf(document.activeElement);
    if (i < 0) { return; }
    e.preventDefault();
    var next = bs[Math.max(0, Math.min(bs.length - 1, i + (e.key === "ArrowDown" ? 1 : -1)))];
    next.focus();
  });
  window.addEventListener("hashchange", function () {
    var before = [state.process, state.res, state.overlay, state.picks.join(";")].join("|");
    readHash();
    syncControls();
    if (before !== [state.process, state.res, state.overlay, state.picks.join(";")].join("|")) {
      state.view = null; state.hostView = null; state.compare = null;
      clearCards();
      renderProcesses();
      refresh();
    } else { drawGrid(); renderTable(); }
  });
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { drawGrid(); }, 150);
  });

  function refresh() { return Promise.all([pollView(), pollHost(), pollCompare()]); }

  var tick = 0;
  function loop() {
    tick++;
    var live = state.res === "second";
    var work = [];
    if (live || tick % 15 === 0) { work.push(refresh()); } else { work.push(pollView()); }
    if (tick % 5 === 0) { work.push(pollProcesses()); }
    Promise.all(work).then(function () { setTimeout(loop, 1000); });
  }

  readHash();
  syncControls();
  pollProcesses().then(refresh).then(function () { setTimeout(loop, 1000); });
})();
