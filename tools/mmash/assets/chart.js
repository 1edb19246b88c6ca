// mmash page, charts: hand-written SVG line charts and sparklines (no library, no network).
// A chart is drawn from columns: times t0 + i·step and, per line, values (null: no point).
(function () {
  "use strict";

  var U = window.mmashUnits;
  var NS = "http://www.w3.org/2000/svg";
  // Colours readable on white (contrast 4.5:1 or more), then distinguishable from each other.
  var COLOURS = ["#1f5fbf", "#b4460b", "#b3261e", "#2e7d32", "#7b1fa2", "#00796b", "#5d4037",
    "#c2185b", "#455a64", "#827717"];

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;" }[c];
    });
  }

  // Round tick values between lo and hi, about `want` of them.
  function ticks(lo, hi, want, unit) {
    if (!(hi > lo)) { hi = lo + 1; }
    var raw = (hi - lo) / want;
    var base = 10;
    // durations and bytes tick at round numbers of the unit they are read in
    var mag = Math.pow(base, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (m) { return m * mag; }).filter(function (s) { return s >= raw; })[0] || 10 * mag;
    if (unit === "bytes" && raw >= 1024) {
      var p = Math.pow(1024, Math.floor(Math.log(raw) / Math.log(1024)));
      step = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024].map(function (m) { return m * p; }).filter(function (s) { return s >= raw; })[0];
    }
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) { out.push(Math.abs(v) < step * 1e-9 ? 0 : v); }
    return out;
  }

  function clock(t, withSeconds) {
    var d = new Date(t * 1000);
    var p = function (n) { return n < 10 ? "0" + n : String(n); };
    return p(d.getHours()) + ":" + p(d.getMinutes()) + (withSeconds ? ":" + p(d.getSeconds()) : "");
  }

  function extent(lines) {
    var lo = Infinity, hi = -Infinity;
    lines.forEach(function (l) {
      l.values.forEach(function (v) {
        if (v !== null && isFinite(v)) { if (v < lo) { lo = v; } if (v > hi) { hi = v; } }
      });
    });
    if (lo === Infinity) { return [0, 1]; }
    if (lo >= 0) { lo = 0; }
    if (hi <= lo) { hi = lo + (Math.abs(lo) || 1); }
    return [lo, hi];
  }

  function pathOf(values, x, y) {
    var d = "", pen = false;
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (v === null || !isFinite(v)) { pen = false; continue; }
      var lone = !pen && (i + 1 >= values.length || values[i + 1] === null);
      // a lone point is drawn as a dot (a zero-length stroke with round caps)
      d += (pen ? "L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1) + (lone ? "h0" : "");
      pen = true;
    }
    return d;
  }

  function lastValue(values) {
    for (var i = values.length - 1; i >= 0; i--) { if (values[i] !== null) { return values[i]; } }
    return null;
  }

  // A young history starts at its first point (showing at least a minute of buckets), so it is
  // not squeezed against the right edge.
  function young(spec) {
    var n = spec.lines.length ? spec.lines[0].values.length : 0, first = n;
    spec.lines.forEach(function (l) {
      for (var i = 0; i < l.values.length && i < first; i++) { if (l.values[i] !== null) { first = i; break; } }
    });
    var from = Math.max(0, Math.min(first, n - 60));
    if (from === 0) { return spec; }
    var out = {};
    Object.keys(spec).forEach(function (k) { out[k] = spec[k]; });
    out.t0 = spec.t0 + from * spec.step;
    out.lines = spec.lines.map(function (l) {
      var c = {};
      Object.keys(l).forEach(function (k) { c[k] = l[k]; });
      c.values = l.values.slice(from);
      return c;
    });
    return out;
  }

  // Draws a chart into `el` (an element whose width it fills).
  // spec: {t0, step, lines: [{name, values, colour?}], unit, rate, title, height}
  function draw(el, spec) {
    spec = young(spec);
    var w = Math.max(200, Math.floor(el.clientWidth || 320));
    var h = spec.height || 140;
    var left = 64, right = 8, top = 8, bottom = 20;
    var n = spec.lines.length ? spec.lines[0].values.length : 0;
    var ext = extent(spec.lines);
    var yt = ticks(ext[0], ext[1], 4, spec.unit);
    var lo = Math.min(ext[0], yt[0]), hi = Math.max(ext[1], yt[yt.length - 1]);
    var x = function (i) { return left + (n > 1 ? i * (w - left - right) / (n - 1) : 0); };
    var y = function (v) { return top + (hi - v) * (h - top - bottom) / (hi - lo); };
    var labels = U.axis(yt, spec.unit, spec.rate);
    var s = "";
    s += "<g class=\"grid\" aria-hidden=\"true\">";
    yt.forEach(function (v, i) {
      s += "<line x1=\"" + left + "\" x2=\"" + (w - right) + "\" y1=\"" + y(v).toFixed(1) + "\" y2=\"" + y(v).toFixed(1) + "\"/>";
      s += "<text class=\"ytick\" x=\"" + (left - 6) + "\" y=\"" + (y(v) + 4).toFixed(1) + "\" text-anchor=\"end\">" + esc(labels[i]) + "</text>";
    });
    var span = n * spec.step, withSeconds = span <= 900;
    var xticks = Math.max(2, Math.floor((w - left) / 90));
    for (var k = 0; k <= xticks; k++) {
      var i = Math.round(k * (n - 1) / xticks);
      if (n < 2) { break; }
      var anchor = k === 0 ? "start" : k === xticks ? "end" : "middle";
      s += "<text class=\"xtick\" x=\"" + x(i).toFixed(1) + "\" y=\"" + (h - 5) + "\" text-anchor=\"" + anchor + "\">" + clock(spec.t0 + i * spec.step, withSeconds) + "</text>";
    }
    s += "</g>";
    spec.lines.forEach(function (l, j) {
      var colour = l.colour || COLOURS[j % COLOURS.length];
      s += "<path class=\"line\" data-name=\"" + esc(l.name) + "\" fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"1.8\" stroke-linecap=\"round\" stroke-linejoin=\"round\" d=\"" + pathOf(l.values, x, y) + "\"/>";
    });
    s += "<line class=\"cursor\" y1=\"" + top + "\" y2=\"" + (h - bottom) + "\" x1=\"-10\" x2=\"-10\"/>";
    var summary = spec.lines.map(function (l) {
      return (l.name || "value") + " " + (spec.rate ? U.rate(lastValue(l.values), spec.unit) : U.compact(lastValue(l.values), spec.unit));
    }).join(", ");
    var svg = "<svg xmlns=\"" + NS + "\" width=\"" + w + "\" height=\"" + h + "\" role=\"img\" aria-label=\"" +
      esc(spec.title + ": " + summary) + "\">" + s + "</svg>";
    el.innerHTML = svg;
    el._chart = { spec: spec, x: x, n: n, left: left, right: right, w: w };
    return summary;
  }

  // A tooltip with every line's value at the pointer's time.
  function hover(el, tip) {
    el.addEventListener("mousemove", function (e) {
      var c = el._chart;
      if (!c || c.n < 2) { return; }
      var r = el.getBoundingClientRect();
      var px = e.clientX - r.left;
      var i = Math.round((px - c.left) * (c.n - 1) / (c.w - c.left - c.right));
      if (i < 0 || i >= c.n) { tip.hidden = true; return; }
      var cur = el.querySelector(".cursor");
      if (cur) { cur.setAttribute("x1", c.x(i)); cur.setAttribute("x2", c.x(i)); }
      var sp = c.spec;
      tip.textContent = clock(sp.t0 + i * sp.step, true) + "  " + sp.lines.map(function (l) {
        var v = l.values[i];
        return (l.name || "value") + " " + (sp.rate ? U.rate(v, sp.unit) : U.compact(v, sp.unit));
      }).join("  ");
      tip.hidden = false;
    });
    el.addEventListener("mouseleave", function () {
      tip.hidden = true;
      var cur = el.querySelector(".cursor");
      if (cur) { cur.setAttribute("x1", -10); cur.setAttribute("x2", -10); }
    });
  }

  // A sparkline: one line, no axes, 100 × 22.
  function spark(values, colour) {
    values = young({ lines: [{ values: values }], t0: 0, step: 1 }).lines[0].values;
    var w = 100, h = 22, n = values.length;
    var ext = extent([{ values: values }]);
    var x = function (i) { return n > 1 ? i * w / (n - 1) : 0; };
    var y = function (v) { return 1 + (ext[1] - v) * (h - 2) / (ext[1] - ext[0]); };
    return "<svg class=\"spark\" width=\"" + w + "\" height=\"" + h + "\" aria-hidden=\"true\"><path fill=\"none\" stroke=\"" +
      (colour || COLOURS[0]) + "\" stroke-width=\"1.2\" stroke-linecap=\"round\" d=\"" + pathOf(values, x, y) + "\"/></svg>";
  }

  window.mmashChart = { draw: draw, hover: hover, spark: spark, colours: COLOURS, last: lastValue };
})();
