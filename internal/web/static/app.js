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

  function fmt(v, unit) {
    if (v == null || isNaN(v)) return "–";
    var a = Math.abs(v), s;
    if (unit === "B/s" || unit === "B") {
      var units = ["", "K", "M", "G", "T"], i = 0;
      while (a >= 1024 && i < units.length - 1) { a /= 1024; v /= 1024; i++; }
      return v.toFixed(a < 10 ? 2 : 1) + " " + units[i] + unit;
    }
    if (a !== 0 && a < 0.01) s = v.toExponential(2);
    else if (a < 10) s = v.toFixed(3);
    else s = v.toFixed(1);
    return unit ? s + " " + unit : s;
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
    var opts = {
      width: Math.max(el.clientWidth, 300),
      height: 240,
      cursor: { drag: { x: true, y: false }, focus: { prox: 16 } },
      scales: { x: { time: true } },
      axes: [{}, { values: function (u, vals) { return vals.map(function (v) { return fmt(v, unit); }); }, size: 90 }],
      legend: { live: true },
      series: [{}].concat(series.map(function (s, i) {
        return { label: s.name, stroke: palette[i % palette.length], width: 1.5, spanGaps: false,
          value: function (u, v) { return fmt(v, unit); } };
      }))
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

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    live();
  });
})();
