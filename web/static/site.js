// The site's script: live overview numbers and events, charts (uPlot) with
// honest axes and legends, client-side table sorting, copy buttons, the
// dataset's sample viewer and signing in with a polkadot.js extension. It
// only ever writes text (textContent), never HTML.
"use strict";

(function () {
  function get(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, obj);
  }
  function fmtInt(v) { return Math.round(v).toLocaleString("en-US"); }
  function fmtTime(v) { return String(v).replace("T", " ").replace(/\.\d+Z$/, "Z"); }
  function short(k) { return k.length <= 12 ? k : k.slice(0, 6) + "…" + k.slice(-4); }
  function fetchJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(url + ": " + r.status);
      return r.json();
    });
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function link(href, text, title) {
    var a = el("a", text);
    a.href = href;
    if (title) a.title = title;
    return a;
  }

  var verbs = { completed: "submitted", expired: "let the lease expire on", released: "gave back" };

  // event writes one event as the overview's template does.
  function event(li, e, name) {
    var who = function (k, path) { var a = link(path + encodeURIComponent(k), name(k), k); a.className = "who"; return a; };
    var task = function () { return link("/tasks/" + encodeURIComponent(e.task_id), "task " + e.task_id); };
    var sub = function () { return link("/submissions/" + encodeURIComponent(e.lease_id), "submission " + e.lease_id); };
    switch (e.kind) {
      case "imported": li.append(el("b", "imported"), " " + (e.detail || "")); break;
      case "reopened": li.append(task(), " ", el("b", "back in the pool"), " ", el("small", e.detail || "")); break;
      case "scored": li.append(who(e.detail, "/validators/"), " ", el("b", "reported"), " on ", sub(), " by ", who(e.hotkey, "/miners/")); break;
      case "accepted": case "rejected": li.append(sub(), " of ", task(), " by ", who(e.hotkey, "/miners/"), " ", el("b", e.kind)); break;
      default:
        li.append(who(e.hotkey, "/miners/"), " ", el("b", verbs[e.kind] || e.kind), " ", task());
        if (e.kind === "completed") li.append(" (", sub(), ")");
    }
  }

  // Live overview: numbers and recent events every 5 seconds.
  function live() {
    var box = document.querySelector("[data-live]");
    if (!box) return;
    var url = box.getAttribute("data-live");
    function tick() {
      fetchJSON(url).then(function (o) {
        document.querySelectorAll("[data-k]").forEach(function (e) {
          var v = get(o, e.getAttribute("data-k"));
          if (v === undefined || v === null) return;
          e.textContent = typeof v === "number" ? fmtInt(v) : String(v);
        });
        var ul = document.getElementById("events");
        var names = o.names || {};
        var name = function (k) { return names[k] || short(k); };
        if (ul && o.events) {
          ul.replaceChildren();
          o.events.forEach(function (e) {
            var li = el("li", undefined, "ev-" + e.kind);
            var t = el("time", fmtTime(e.at));
            t.setAttribute("datetime", e.at);
            li.append(t, " ");
            event(li, e, name);
            ul.append(li);
          });
        }
        box.setAttribute("data-updated", String(Date.now()));
      }).catch(function () { /* keep the last numbers */ });
    }
    setInterval(tick, 5000);
    tick();
  }

  // compact writes axis numbers short: 1.2M, 350k, 0.25.
  function compact(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return +(v / 1e9).toFixed(1) + "G";
    if (a >= 1e6) return +(v / 1e6).toFixed(1) + "M";
    if (a >= 1e4) return +(v / 1e3).toFixed(0) + "k";
    return String(+v.toFixed(3));
  }
  function fmtValue(v) {
    if (v === null || v === undefined) return "–";
    return Math.abs(v) >= 1000 ? fmtInt(v) : String(+v.toFixed(4));
  }
  function fmtX(axis, x) {
    if (axis === "time") return new Date(x * 1000).toISOString().replace("T", " ").slice(0, 16) + "Z";
    return axis + " " + x;
  }

  // Charts: each .chart[data-src] fetches {x, axis, step, y: {label, min,
  // max}, series: [{label, values}]}. Axes are honest: x spans the data
  // (one point: one step either side), y starts at min (0) and ends at max
  // when it is fixed (proportions: 1). The legend under the chart names
  // every line with its latest value.
  // integers are the tick spacings of block and build axes: whole numbers.
  var integers = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7];
  var colors = ["#2f5bea", "#e8590c", "#1a7f37", "#9333ea", "#0891b2", "#be123c"];
  function chart(box) {
    fetchJSON(box.getAttribute("data-src")).then(function (d) {
      if (!d.x || d.x.length === 0) {
        box.append(el("p", "No data yet.", "empty"));
        box.setAttribute("data-drawn", "empty");
        return;
      }
      var time = d.axis === "time";
      var step = d.step > 0 ? d.step : 1;
      // A single point is drawn with an empty step either side: uPlot
      // would pad its x range by a great deal (years, on a time axis).
      if (d.x.length === 1) {
        d = { x: [d.x[0] - step, d.x[0], d.x[0] + step], axis: d.axis, step: d.step, y: d.y, points: 1,
          series: d.series.map(function (s) { return { label: s.label, bars: s.bars, values: [null, s.values[0], null] }; }) };
      }
      var series = [{ label: time ? "time" : d.axis }];
      var data = [d.x];
      var ymax = 0;
      d.series.forEach(function (s, i) {
        s.values.forEach(function (v) { if (v !== null && v > ymax) ymax = v; });
        var line = { label: s.label, stroke: colors[i % colors.length], width: 2, spanGaps: true,
          fill: d.series.length === 1 ? "rgba(47,91,234,0.08)" : undefined, points: { show: true, size: d.x.length < 40 ? 6 : 3 } };
        if (s.bars && uPlot.paths && uPlot.paths.bars) {
          line.paths = uPlot.paths.bars({ size: [0.8, 48] });
          line.fill = "rgba(47,91,234,0.55)";
          line.points = { show: false };
        }
        series.push(line);
        data.push(s.values);
      });
      var yMin = typeof d.y.min === "number" ? d.y.min : 0;
      var yMax = typeof d.y.max === "number" ? d.y.max : (ymax > yMin ? ymax * 1.08 : yMin + 1);
      var opts = {
        width: Math.max(200, box.clientWidth - 8), height: 220, series: series,
        scales: {
          x: { time: time, range: function (u, min, max) { return min === max ? [min - step, max + step] : [min, max]; } },
          y: { range: function () { return [yMin, yMax]; } }
        },
        axes: [{ label: time ? undefined : d.axis, size: time ? 40 : 46, incrs: time ? undefined : integers },
          { label: d.y.label, size: 64, values: function (u, vals) { return vals.map(compact); } }],
        legend: { show: false }
      };
      // The scales as drawn, for people reading the page's source and
      // for the browser tests.
      opts.hooks = { draw: [function (u) {
        box.setAttribute("data-xmin", String(u.scales.x.min));
        box.setAttribute("data-xmax", String(u.scales.x.max));
        box.setAttribute("data-ymin", String(u.scales.y.min));
        box.setAttribute("data-ymax", String(u.scales.y.max));
        box.setAttribute("data-points", String(d.points || d.x.length));
        box.setAttribute("data-drawn", "yes");
      }] };
      var u = new uPlot(opts, data, box);
      var legend = document.querySelector('ul.legend[data-legend-for="' + box.id + '"]');
      if (legend) {
        d.series.forEach(function (s, i) {
          var last = null, at = null;
          for (var j = s.values.length - 1; j >= 0; j--) if (s.values[j] !== null) { last = s.values[j]; at = d.x[j]; break; }
          var li = el("li");
          var sw = el("span", undefined, "sw");
          sw.style.background = colors[i % colors.length];
          li.append(sw, el("span", s.label + ":", "ll"), " ", el("span", fmtValue(last), "lv"));
          if (at !== null) li.append(" ", el("small", "at " + fmtX(d.axis, at)));
          legend.append(li);
        });
      }
      window.addEventListener("resize", function () { u.setSize({ width: Math.max(200, box.clientWidth - 8), height: 220 }); });
    }).catch(function (e) {
      box.setAttribute("data-drawn", "error");
      box.append(el("p", "Chart unavailable: " + e.message, "empty"));
    });
  }

  // Client-side sorting of .sortable tables by the cells' data-v values
  // (numbers, or text for data-sort="s").
  function sortable(table) {
    table.querySelectorAll("th[data-sort]").forEach(function (th, _, all) {
      th.addEventListener("click", function (ev) {
        ev.preventDefault();
        var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
        var text = th.getAttribute("data-sort") === "s";
        var desc = !th.classList.contains("desc");
        all.forEach(function (o) { o.classList.remove("asc", "desc"); });
        th.classList.add(desc ? "desc" : "asc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[idx].getAttribute("data-v"), y = b.cells[idx].getAttribute("data-v");
          var c = text ? String(x).localeCompare(String(y)) : parseFloat(x) - parseFloat(y);
          return desc ? -c : c;
        });
        rows.forEach(function (r) { body.append(r); });
      });
    });
  }

  // Copy buttons copy their textarea's text exactly.
  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.addEventListener("click", function () {
        var t = document.getElementById(b.getAttribute("data-copy"));
        var done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500); };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(t.value).then(done, function () { t.select(); document.execCommand("copy"); done(); });
        } else {
          t.select();
          document.execCommand("copy");
          done();
        }
      });
    });
  }

  // The dataset's sample viewer: other random documents.
  function samples() {
    var b = document.getElementById("more-samples");
    var box = document.getElementById("samples");
    if (!b || !box) return;
    b.addEventListener("click", function () {
      fetchJSON(b.getAttribute("data-src")).then(function (o) {
        box.replaceChildren();
        o.samples.forEach(function (s) {
          var a = el("article", undefined, "sample");
          var h = el("header");
          var u = link(s.url, s.url);
          u.rel = "nofollow noopener noreferrer";
          u.className = "break sample-url";
          h.append(u);
          var m = el("p", undefined, "sample-meta");
          m.append(s.dump + " · " + fmtInt(s.token_count) + " tokens · miner ", link("/miners/" + encodeURIComponent(s.miner), short(s.miner), s.miner),
            " · ", link("/tasks/" + encodeURIComponent(s.task), "task " + s.task), " · commitment at block " + s.block + " · ", el("code", s.shard), " row " + s.row);
          a.append(h, m, el("div", s.text + (s.truncated ? "…" : ""), "sample-text pre"));
          box.append(a);
        });
      }).catch(function (e) { b.textContent = "Unavailable: " + e.message; });
    });
  }

  // Signing the challenge with a polkadot.js compatible extension.
  function extension() {
    var btn = document.getElementById("sign-extension");
    if (!btn || !window.injectedWeb3) return;
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var names = Object.keys(window.injectedWeb3);
      if (names.length === 0) return;
      var msg = btn.getAttribute("data-message"), hotkey = btn.getAttribute("data-hotkey");
      var hex = "0x" + Array.prototype.map.call(new TextEncoder().encode(msg), function (b) { return b.toString(16).padStart(2, "0"); }).join("");
      window.injectedWeb3[names[0]].enable("Data Refine").then(function (ext) {
        return ext.signer.signRaw({ address: hotkey, data: hex, type: "bytes" });
      }).then(function (res) {
        document.getElementById("signature").value = res.signature;
        document.getElementById("signin-form").submit();
      }).catch(function (e) { alert("Signing failed: " + e.message); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    live();
    document.querySelectorAll(".chart[data-src]").forEach(chart);
    document.querySelectorAll("table.sortable").forEach(sortable);
    copyButtons();
    samples();
    extension();
  });
})();
