// mmash page, units: the same rule as the terminal tools' (Rust: `mmstats_render::units`):
// durations as ns, µs, ms, s (then 2m03s, 1h02m, 3d04h), bytes in IEC binary units (B, KiB,
// MiB, GiB, TiB, PiB), other counts with SI suffixes (k, M, G, T, P, E), three significant
// digits; ids, pids, ports, versions and constants whole. tests/units.json is the table both sides test.
(function () {
  "use strict";

  var SECONDS = { seconds: 1, milliseconds: 1e-3, microseconds: 1e-6, nanoseconds: 1e-9 };

  // x with d decimals, rounding exact ties to even as Rust's formatting does.
  function fixed(x, d) {
    var p = Math.pow(10, d), y = x * p, f = Math.floor(y);
    if (y - f === 0.5 && y / p === x) {
      var even = f % 2 === 0 ? f : f + 1;
      return (even / p).toFixed(d);
    }
    return x.toFixed(d);
  }

  function threeDigits(x) {
    var a = Math.abs(x);
    return fixed(x, a < 9.995 ? 2 : a < 99.95 ? 1 : 0);
  }

  function pad2(n) { return n < 10 ? "0" + n : String(n); }

  function duration(seconds) {
    if (!isFinite(seconds)) { return String(seconds); }
    if (seconds < 0) { return "-" + duration(-seconds); }
    if (seconds === 0) { return "0s"; }
    var ns = seconds * 1e9;
    if (ns < 999.5) { return threeDigits(ns).replace(/\.00$/, "") + "ns"; }
    var steps = [[1e-6, "µs"], [1e-3, "ms"], [1, "s"]];
    for (var i = 0; i < steps.length; i++) {
      var v = seconds / steps[i][0];
      if ((steps[i][1] !== "s" && v < 999.5) || v < 59.995) { return threeDigits(v) + steps[i][1]; }
    }
    var total = Math.round(seconds);
    var d = Math.floor(total / 86400), h = Math.floor(total / 3600) % 24;
    var m = Math.floor(total / 60) % 60, s = total % 60;
    if (d > 0) { return d + "d" + pad2(h) + "h"; }
    if (h > 0) { return h + "h" + pad2(m) + "m"; }
    return m + "m" + pad2(s) + "s";
  }

  function scaled(x, base, first, suffixes, limit) {
    var v = x / base, suffix = first;
    for (var i = 0; i < suffixes.length; i++) {
      if (Math.abs(v) < limit) { break; }
      v /= base;
      suffix = suffixes[i];
    }
    return threeDigits(v) + suffix;
  }

  function bytes(b) {
    if (Math.abs(b) < 1023.5) { return String((b < 0 ? -1 : 1) * Math.round(Math.abs(b))) + "B"; }
    return scaled(b, 1024, "KiB", ["MiB", "GiB", "TiB", "PiB"], 1023.5);
  }

  function count(x) {
    if (Math.abs(x) < 999.5) { return Number.isInteger(x) ? String(x) : threeDigits(x); }
    return scaled(x, 1000, "k", ["M", "G", "T", "P", "E"], 999.5);
  }

  // A value scaled to fit a narrow column: as Rust's `compact(x, unit)`.
  function compact(x, unit) {
    if (typeof x !== "number") { return x === null || x === undefined ? "–" : String(x); }
    if (!isFinite(x)) { return String(x); }
    if (SECONDS[unit] !== undefined) { return duration(x * SECONDS[unit]); }
    if (unit === "bytes") { return bytes(x); }
    if (unit === "percent") { return threeDigits(x) + "%"; }
    return count(x);
  }

  // A rate per second of a quantity in `unit`.
  function rate(x, unit) {
    return x === null || x === undefined ? "–" : compact(x, unit) + "/s";
  }

  // Ids, pids, ports, versions, years: never scaled, never rounded.
  function whole(x) {
    return x === null || x === undefined ? "–" : String(x);
  }

  // A scalar field's value in the table, as Rust's `scalar`: integers of a unit that is neither
  // a duration nor bytes are shown whole (so a pid or a version is never 13.9k); the rest
  // compactly.
  function scalar(x, unit) {
    if (typeof x !== "number") { return compact(x, unit); }
    if (Number.isInteger(x) && SECONDS[unit] === undefined && unit !== "bytes") {
      return unit === "percent" ? x + "%" : whole(x);
    }
    return compact(x, unit);
  }

  // Axis ticks: every tick of one axis in the unit its largest tick needs, with as many
  // decimals as the step needs ("0ms 2ms 4ms", "0 512KiB 1.0MiB").
  function axis(ticks, unit, isRate) {
    var max = 0;
    ticks.forEach(function (t) { max = Math.max(max, Math.abs(t)); });
    var scale = 1, suffix = "";
    if (SECONDS[unit] !== undefined) {
      var s = max * SECONDS[unit];
      var steps = [[1e-9, "ns"], [1e-6, "µs"], [1e-3, "ms"], [1, "s"]];
      var k = 0;
      while (k < steps.length - 1 && s >= steps[k + 1][0]) { k++; }
      scale = SECONDS[unit] / steps[k][0];
      suffix = steps[k][1];
    } else if (unit === "bytes") {
      var names = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"], j = 0;
      while (j < names.length - 1 && max >= Math.pow(1024, j + 1)) { j++; }
      scale = 1 / Math.pow(1024, j);
      suffix = names[j];
    } else if (unit === "percent") {
      suffix = "%";
    } else {
      var si = ["", "k", "M", "G", "T", "P", "E"], i = 0;
      while (i < si.length - 1 && max >= Math.pow(1000, i + 1)) { i++; }
      scale = 1 / Math.pow(1000, i);
      suffix = si[i];
    }
    var step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) * scale : 1;
    var decimals = step > 0 ? Math.max(0, Math.min(3, Math.ceil(-Math.log10(step) + 1e-9))) : 0;
    return ticks.map(function (t) {
      return (t === 0 ? "0" : fixed(t * scale, decimals)) + suffix + (isRate ? "/s" : "");
    });
  }

  window.mmashUnits = {
    compact: compact, duration: duration, bytes: bytes, count: count,
    rate: rate, whole: whole, scalar: scalar, axis: axis, fixed: fixed
  };
})();
