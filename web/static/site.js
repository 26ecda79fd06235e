// The site's script: live overview numbers and events, charts (uPlot),
// client-side table sorting and signing in with a polkadot.js extension.
// It only ever writes text (textContent), never HTML.
"use strict";

(function () {
  function get(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, obj);
  }
  function fmtInt(v) { return Math.round(v).toLocaleString("en-US"); }
  function fmtBytes(n) {
    var u = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return i === 0 ? n + " B" : n.toFixed(1) + " " + u[i];
  }
  function fmt(el, v) {
    switch (el.getAttribute("data-fmt")) {
      case "bytes": return fmtBytes(v);
      case "f1": return Number(v).toFixed(2);
      case "time": return String(v).replace("T", " ").replace(/\.\d+Z$/, "Z");
    }
    return typeof v === "number" ? fmtInt(v) : String(v);
  }
  function fetchJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(url + ": " + r.status);
      return r.json();
    });
  }

  // Live overview: numbers and recent events every 5 seconds.
  function live() {
    var box = document.querySelector("[data-live]");
    if (!box) return;
    var url = box.getAttribute("data-live");
    function tick() {
      fetchJSON(url).then(function (o) {
        document.querySelectorAll("[data-k]").forEach(function (el) {
          var k = el.getAttribute("data-k"), v = get(o, k);
          if (v === undefined) return;
          if (k === "tasks.done") { el.textContent = fmtInt(v) + " / " + fmtInt(o.tasks.tasks); return; }
          el.textContent = fmt(el, v);
        });
        var ul = document.getElementById("events");
        if (ul && o.events) {
          ul.replaceChildren();
          o.events.forEach(function (e) {
            var li = document.createElement("li");
            var t = document.createElement("time");
            t.textContent = fmt({ getAttribute: function () { return "time"; } }, e.at) + " ";
            var b = document.createElement("b");
            b.textContent = e.kind;
            li.append(t, b);
            if (e.task_id) {
              var a = document.createElement("a");
              a.href = "/tasks/" + encodeURIComponent(e.task_id);
              a.textContent = "task " + e.task_id;
              li.append(" ", a);
            }
            if (e.hotkey) {
              var m = document.createElement("a");
              m.href = "/miners/" + encodeURIComponent(e.hotkey);
              m.textContent = e.hotkey.slice(0, 6) + "…" + e.hotkey.slice(-4);
              li.append(" by ", m);
            }
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

  // Charts: each .chart[data-src] fetches {x, axis, series:[{label, values}]}.
  var colors = ["#2f5bea", "#e8590c", "#1a7f37", "#9333ea"];
  function chart(el) {
    fetchJSON(el.getAttribute("data-src")).then(function (d) {
      if (!d.x || d.x.length === 0) {
        var p = document.createElement("p");
        p.className = "empty";
        p.textContent = "No data yet.";
        el.append(p);
        el.setAttribute("data-drawn", "empty");
        return;
      }
      var series = [{ label: d.axis === "block" ? "block" : "time" }];
      var data = [d.x];
      d.series.forEach(function (s, i) {
        series.push({ label: s.label, stroke: colors[i % colors.length], width: 2, fill: i === 0 ? "rgba(47,91,234,0.08)" : undefined, points: { show: d.x.length < 60 } });
        data.push(s.values);
      });
      var opts = {
        width: Math.max(200, el.clientWidth - 8), height: 220, series: series,
        scales: { x: { time: d.axis !== "block" } },
        axes: [{}, { size: 56, values: function (u, vals) { return vals.map(compact); } }],
        legend: { show: true }
      };
      var u = new uPlot(opts, data, el);
      el.setAttribute("data-drawn", "yes");
      window.addEventListener("resize", function () { u.setSize({ width: Math.max(200, el.clientWidth - 8), height: 220 }); });
    }).catch(function (e) {
      el.setAttribute("data-drawn", "error");
      var p = document.createElement("p");
      p.className = "empty";
      p.textContent = "Chart unavailable: " + e.message;
      el.append(p);
    });
  }

  // Client-side sorting of .sortable tables by the cells' data-v values.
  function sortable(table) {
    table.querySelectorAll("th[data-sort]").forEach(function (th, _, all) {
      th.addEventListener("click", function (ev) {
        ev.preventDefault();
        var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
        var desc = !th.classList.contains("desc");
        all.forEach(function (o) { o.classList.remove("asc", "desc"); });
        th.classList.add(desc ? "desc" : "asc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = parseFloat(a.cells[idx].getAttribute("data-v")), y = parseFloat(b.cells[idx].getAttribute("data-v"));
          return desc ? y - x : x - y;
        });
        rows.forEach(function (r) { body.append(r); });
      });
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
    extension();
  });
})();
