// mamori console: charts (uPlot), live overview (server-sent events) and
// confirmations. No inline scripts anywhere (strict CSP); untrusted text is
// only ever set with textContent.
(function () {
  "use strict";

  // Forms with data-confirm ask first.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    var msg = f && f.getAttribute && f.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });

  // ---- charts ----
  var palette = ["#1f5fbf", "#c62828", "#2e7d32", "#ed6c02", "#6a1b9a", "#00838f", "#5d4037", "#ad1457", "#455a64", "#9e9d24"];

  function fmt(v, unit, digits) {
    if (v == null || isNaN(v)) return "–";
    var a = Math.abs(v), d = digits == null ? (a !== 0 && a < 10 ? 2 : 1) : digits;
    if (unit === "B/s" || unit === "B") {
      var units = ["", "K", "M", "G", "T"], i = 0;
      while (a >= 1024 && i < units.length - 1) { a /= 1024; v /= 1024; i++; }
      return v.toFixed(digits == null ? (a < 10 ? 2 : 1) : digits) + " " + units[i] + unit;
    }
    if (unit === "s") { // human units: 1.25 ms, not 1.25e-3 s
      if (a !== 0 && a < 1e-3) return (v * 1e6).toFixed(d) + " µs";
      if (a !== 0 && a < 1) return (v * 1e3).toFixed(digits == null ? (a < 0.01 ? 2 : 1) : digits) + " ms";
      return v.toFixed(d) + " s";
    }
    var s2 = v.toFixed(d);
    return unit ? s2 + " " + unit : s2;
  }

  // tickLabels formats axis ticks with just enough digits that no two
  // neighbours read the same ("70.9 % 70.9 %").
  function tickLabels(vals, unit) {
    for (var d = 0; d <= 4; d++) {
      var out = vals.map(function (v) { return fmt(v, unit, d); }), ok = true;
      for (var i = 1; i < out.length; i++) if (out[i] === out[i - 1]) { ok = false; break; }
      if (ok) return out;
    }
    return out;
  }

  // The user's zone and language (set on <body> by the server): graphs
  // never use the browser's.
  var userTZ = (document.body && document.body.getAttribute("data-tz")) || "UTC";
  var userLang = (document.body && document.body.getAttribute("data-lang")) || "en";
  function dateFmt(opts) {
    opts.timeZone = userTZ; opts.hourCycle = "h23";
    try { return new Intl.DateTimeFormat(userLang === "ja" ? "ja-JP" : "en-GB", opts); }
    catch (e) { delete opts.timeZone; return new Intl.DateTimeFormat(userLang === "ja" ? "ja-JP" : "en-GB", opts); }
  }
  var fmtHM = dateFmt({ hour: "2-digit", minute: "2-digit" });
  var fmtDHM = dateFmt({ month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  var fmtFull = dateFmt({ year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  function xTicks(u, vals) {
    var span = u.scales.x.max - u.scales.x.min;
    var f = span > 86400 ? fmtDHM : fmtHM, prev = "";
    var out = vals.map(function (v) {
      var t = f.format(new Date(v * 1000));
      if (t === prev) return "";
      prev = t;
      return t;
    });
    u.root.setAttribute("data-xticks", out.filter(Boolean).join("|")); // what the axis shows, for tests
    return out;
  }

  // align merges series of [t, v] points onto one shared x axis.
  function align(series) {
    var xs = {}, i, j;
    for (i = 0; i < series.length; i++) {
      for (j = 0; j < series[i].points.length; j++) xs[series[i].points[j][0]] = true;
    }
    var x = Object.keys(xs).map(Number).sort(function (a, b) { return a - b; });
    var idx = {};
    for (i = 0; i < x.length; i++) idx[x[i]] = i;
    var data = [x];
    for (i = 0; i < series.length; i++) {
      var ys = new Array(x.length).fill(null);
      for (j = 0; j < series[i].points.length; j++) ys[idx[series[i].points[j][0]]] = series[i].points[j][1];
      data.push(ys);
    }
    return data;
  }

  var plots = [];

  function drawChart(el) {
    var spec;
    try { spec = JSON.parse(el.getAttribute("data-chart")); } catch (e) { return; }
    var series = (spec.series || []).filter(function (s) { return s.points && s.points.length; });
    if (!series.length || typeof uPlot === "undefined") {
      var p = document.createElement("p");
      p.className = "empty";
      p.textContent = el.getAttribute("data-empty") || "no data";
      el.appendChild(p);
      return;
    }
    var unit = spec.unit || "";
    var bands = spec.bands || [];
    var opts = {
      width: Math.max(el.clientWidth, 300),
      height: 240,
      cursor: { drag: { x: true, y: false }, focus: { prox: 16 } },
      // The x scale is the range asked for, not the data's: one sample in a
      // day is drawn inside that day, not on an axis to another year.
      scales: { x: { time: true, range: function (u, lo, hi) {
        return spec.start && spec.end ? [spec.start, spec.end] : [lo, hi];
      } } },
      axes: [{ values: xTicks, space: 90 },
        { values: function (u, vals) { return tickLabels(vals, unit); }, size: 90, space: 40 }],
      legend: { live: true },
      series: [{ label: document.body.getAttribute("data-i18n-time") || "Time", value: function (u, v) { return v == null ? "–" : fmtFull.format(new Date(v * 1000)); } }].concat(series.map(function (s, i) {
        return { label: s.name, stroke: palette[i % palette.length], width: 1.5, spanGaps: false,
          points: { show: s.points.length < 3 ? true : undefined, size: 6 },
          value: function (u, v) { return fmt(v, unit); } };
      })),
      hooks: { drawClear: [function (u) { // shade the periods the check was CRITICAL
        var ctx = u.ctx;
        ctx.save();
        ctx.fillStyle = "rgba(198,40,40,0.13)";
        bands.forEach(function (b) {
          var x0 = u.valToPos(Math.max(b[0], u.scales.x.min), "x", true), x1 = u.valToPos(Math.min(b[1], u.scales.x.max), "x", true);
          if (x1 > x0) ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
        });
        ctx.restore();
      }] }
    };
    var u = new uPlot(opts, align(series), el);
    plots.push({ u: u, el: el });
  }

  function drawCharts() {
    var els = document.querySelectorAll(".chart[data-chart]");
    for (var i = 0; i < els.length; i++) drawChart(els[i]);
  }

  var resizeTimer;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      plots.forEach(function (p) { p.u.setSize({ width: Math.max(p.el.clientWidth, 300), height: 240 }); });
    }, 150);
  });

  // ---- live overview ----
  function live() {
    var body = document.getElementById("overview-body");
    if (!body || typeof EventSource === "undefined") return;
    var log = document.getElementById("live-log");
    var status = document.getElementById("live-status");
    var pending = false, busy = false;

    function refresh() {
      if (busy) { pending = true; return; }
      busy = true;
      fetch(body.getAttribute("data-refresh"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (res) {
          if (res.redirected || !res.ok) { if (res.redirected) window.location.reload(); return null; }
          return res.text();
        })
        .then(function (html) { if (html != null) body.innerHTML = html; }) // our own server-rendered, escaped HTML
        .catch(function () {})
        .then(function () {
          busy = false;
          if (pending) { pending = false; setTimeout(refresh, 500); }
        });
    }

    var timer = null;
    function schedule() {
      if (timer) return;
      timer = setTimeout(function () { timer = null; refresh(); }, 700);
    }

    var es = new EventSource(body.getAttribute("data-live"));
    es.addEventListener("open", function () {
      if (status) status.textContent = status.getAttribute("data-label-on");
    });
    es.addEventListener("error", function () {
      if (status) status.textContent = status.getAttribute("data-label-off");
    });
    es.addEventListener("state", function (ev) {
      var e;
      try { e = JSON.parse(ev.data); } catch (x) { return; }
      if (log) {
        var li = document.createElement("li");
        var b = document.createElement("span");
        b.className = "badge st-" + String(e.state).toLowerCase().replace(/[^a-z]/g, "");
        b.textContent = e.state;
        li.appendChild(document.createTextNode(e.time_text + " "));
        li.appendChild(b);
        li.appendChild(document.createTextNode(" " + e.state_type + " " + e.check + " — " + e.output));
        log.insertBefore(li, log.firstChild);
        while (log.childNodes.length > 50) log.removeChild(log.lastChild);
      }
      schedule();
    });
    // A slow safety net: refresh every minute even without events.
    setInterval(refresh, 60000);
  }

  // ---- relative times ("24s ago") that keep counting ----
  function agoText(ms) {
    var b = document.body, d = Math.max(0, Math.floor((Date.now() - ms) / 1000)), t;
    function f(key, a, c) { return (b.getAttribute("data-i18n-" + key) || "").replace("{0}", a).replace("{1}", c); }
    if (d < 60) t = f("s", d);
    else if (d < 3600) t = f("m", Math.floor(d / 60));
    else if (d < 48 * 3600) t = f("hm", Math.floor(d / 3600), Math.floor(d / 60) % 60);
    else t = f("dh", Math.floor(d / 86400), Math.floor(d / 3600) % 24);
    return (b.getAttribute("data-i18n-ago") || "{0}").replace("{0}", t);
  }
  function tickAgo() {
    var els = document.querySelectorAll("[data-ago]");
    for (var i = 0; i < els.length; i++) {
      var ms = Number(els[i].getAttribute("data-ago"));
      if (ms > 0) els[i].textContent = agoText(ms);
    }
  }


  // ---- keyboard: j/k move through the rows of a list or the
  // host tiles, Enter opens the row, "/" goes to the page's search box ----
  function kbdItems() {
    var grid = document.querySelectorAll(".host-grid a.tile");
    if (grid.length) return grid;
    return document.querySelectorAll("table.list tbody tr");
  }
  var kbdAt = -1;
  function kbdMove(step) {
    var items = kbdItems();
    if (!items.length) return;
    if (kbdAt >= 0 && kbdAt < items.length) items[kbdAt].classList.remove("kbd-focus");
    kbdAt = Math.max(0, Math.min(items.length - 1, kbdAt + step));
    var it = items[kbdAt];
    it.classList.add("kbd-focus");
    var link = it.tagName === "A" ? it : it.querySelector("a[href]");
    if (link) link.focus(); else it.scrollIntoView({block: "nearest"});
  }
  document.addEventListener("keydown", function (ev) {
    var t = ev.target, tag = t && t.tagName;
    if (ev.ctrlKey || ev.metaKey || ev.altKey || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (t && t.isContentEditable)) return;
    if (ev.key === "j") { kbdMove(1); ev.preventDefault(); }
    else if (ev.key === "k") { kbdMove(-1); ev.preventDefault(); }
    else if (ev.key === "/") {
      var q = document.querySelector("form.filters input[type=search], form.filters input[name=q]");
      if (q) { q.focus(); ev.preventDefault(); }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    live();
    tickAgo();
    setInterval(tickAgo, 5000);
  });
})();
