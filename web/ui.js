// ui.js - what the dashboard's views share: DOM building that never parses markup, number and
// time formatting, tables and the small hand-written SVG charts. Loaded before app.js, it
// exports one object, window.mnemoUI. Strings become text nodes or attribute values, never
// HTML (see app.js).
"use strict";

window.mnemoUI = (() => {
  const SVG = "http://www.w3.org/2000/svg";

  // el("div", {class: "x", onclick: fn}, "text", child) — children strings become text nodes.
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    setAttrs(n, attrs);
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return n;
  }
  function svg(tag, attrs, ...children) {
    const n = document.createElementNS(SVG, tag);
    setAttrs(n, attrs);
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined) continue;
      n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return n;
  }
  function setAttrs(n, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") n.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(n.dataset, v);
      else n.setAttribute(k, v === true ? "" : String(v));
    }
  }

  // ---- formatting ----------------------------------------------------------------------------
  const nf = new Intl.NumberFormat();
  function fmtBytes(b) {
    if (b === null || b === undefined || b < 0) return "—";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return (i === 0 ? String(b) : b.toFixed(1)) + " " + u[i];
  }
  function fmtMs(ms) {
    if (ms === null || ms === undefined) return "—";
    return ms < 10 ? ms.toFixed(2) + " ms" : ms < 1000 ? ms.toFixed(1) + " ms" : (ms / 1000).toFixed(2) + " s";
  }
  function fmtAgo(ms) {
    if (!ms) return "never";
    const s = Math.round((Date.now() - ms) / 1000);
    if (s < 5) return "just now";
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  }
  const fmtTime = (ms) => (ms ? new Date(ms).toLocaleString() : "—");
  const fmtClock = (ms, seconds) => new Date(ms).toLocaleTimeString([], seconds ? { hour: "2-digit", minute: "2-digit", second: "2-digit" } : { hour: "2-digit", minute: "2-digit" });
  function cut(s, n) {
    s = String(s || "");
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
  }

  function barSpan(w) {
    const s = el("span");
    s.style.width = w.toFixed(1) + "%";
    return s;
  }

  function fmtDur(ms) {
    if (!ms && ms !== 0) return "—";
    const s = Math.floor(ms / 1000);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }

  function table(t, head, rows, empty, numeric) {
    const num = new Set(numeric || []);
    t.replaceChildren(el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { class: num.has(i) ? "n" : null, scope: "col" }, h)))),
      el("tbody", {}, rows.length ? rows.map((r) => el("tr", {}, r.map((c, i) => el("td", { class: num.has(i) ? "n" : null }, c))))
        : el("tr", {}, el("td", { colspan: String(head.length), class: "muted" }, empty))));
  }

  // A small line chart: x is time, one or more series, optional dashed limit line.
  function lineChart(fig, samples, series, opt) {
    // The viewBox follows the figure's width so that labels keep their shape.
    const W = Math.max(300, Math.round(fig.clientWidth - 26)), H = 140, L = 56, R = 8, T = 8, B = 20;
    const cap = fig.querySelector("figcaption");
    const nowSpan = cap.querySelector(".now") || el("span", { class: "now" });
    nowSpan.textContent = "now " + opt.now;
    cap.append(nowSpan);
    for (const n of Array.from(fig.children)) if (n !== cap) n.remove();
    // Negative means unknown (a busy store cost that sample its query); with skipZero, 0 does
    // too (the store reports no P95 before it has 20 operations to rank).
    const known = (v) => typeof v === "number" && (opt.skipZero ? v > 0 : v >= 0);
    const pts = samples.filter((s) => series.some((se) => known(s[se.key])));
    const label = cap.firstChild.textContent;
    const g = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": label + ": " + pts.length + " samples, now " + opt.now });
    g.append(svg("title", {}, label));
    if (pts.length < 2) {
      g.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "lbl" }, pts.length ? "one sample so far: the chart fills as the worker samples" : "no samples yet"));
      fig.append(g);
      return;
    }
    const t0 = pts[0].at, t1 = pts[pts.length - 1].at;
    let ymax = 0;
    for (const s of pts) for (const se of series) ymax = Math.max(ymax, s[se.key] || 0);
    if (opt.limit) ymax = Math.max(ymax, opt.limit * 1.05);
    if (ymax <= 0) ymax = 1;
    const x = (t) => L + ((t - t0) / Math.max(1, t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - v / ymax) * (H - T - B);
    g.append(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }), svg("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
    g.append(svg("text", { x: L - 4, y: T + 8, "text-anchor": "end", class: "lbl" }, opt.fmt(ymax)),
      svg("text", { x: L - 4, y: H - B, "text-anchor": "end", class: "lbl" }, opt.fmt(0)),
      svg("text", { x: L, y: H - 4, class: "lbl" }, fmtClock(t0, t1 - t0 < 600000)),
      svg("text", { x: W - R, y: H - 4, "text-anchor": "end", class: "lbl" }, fmtClock(t1, t1 - t0 < 600000)));
    if (opt.limit) g.append(svg("line", { x1: L, x2: W - R, y1: y(opt.limit), y2: y(opt.limit), class: "limit" }, svg("title", {}, opt.limitName + " " + opt.fmt(opt.limit))));
    for (const se of series) {
      const p = pts.filter((s) => known(s[se.key])).map((s) => x(s.at).toFixed(1) + "," + y(s[se.key]).toFixed(1));
      if (opt.area && p.length) g.append(svg("polygon", { points: x(t0).toFixed(1) + "," + (H - B) + " " + p.join(" ") + " " + x(t1).toFixed(1) + "," + (H - B), class: "area" }));
      g.append(svg("polyline", { points: p.join(" "), class: "line " + se.cls }));
    }
    fig.append(g);
    if (series.length > 1 || opt.limit) {
      fig.append(el("div", { class: "legend" }, series.map((se, i) => el("span", {}, el("i", { class: "l" + (se.cls === "s3" ? 3 : i + 1) }), se.name)),
        opt.limit ? el("span", {}, "- - " + opt.limitName) : null));
    }
  }

  function budgetChart(fig, l, callCap, tokCap) {
    const cap = fig.querySelector("figcaption");
    for (const n of Array.from(fig.children)) if (n !== cap) n.remove();
    if (!l.enabled) {
      fig.append(el("p", { class: "muted" }, "The LLM extractor is off (extractor = rules). Turn it on with `mnemo config set extractor llm`."));
      return;
    }
    const rows = [["calls", l.calls_today || 0, callCap], ["tokens", l.tokens_today || 0, tokCap]];
    const W = 360, H = 90;
    const g = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "LLM budget used today" });
    rows.forEach(([name, used, capv], i) => {
      const y0 = 10 + i * 40, frac = capv > 0 ? Math.min(1, used / capv) : 0;
      g.append(svg("text", { x: 0, y: y0 + 12, class: "lbl" }, name),
        svg("rect", { x: 60, y: y0, width: W - 70, height: 16, rx: 3, class: "axis", fill: "none" }),
        svg("rect", { x: 60, y: y0, width: ((W - 70) * frac).toFixed(1), height: 16, rx: 3, class: "bar" }),
        svg("text", { x: 60, y: y0 + 30, class: "lbl" }, nf.format(used) + " of " + (capv < 0 ? "no limit" : nf.format(capv))));
    });
    fig.append(g);
  }

  // Observations created per day over every project, one bar a day.
  function growthChart(fig, days, vals) {
    const cap = fig.querySelector("figcaption");
    for (const n of Array.from(fig.children)) if (n !== cap) n.remove();
    const W = Math.max(300, Math.round(fig.clientWidth - 26)), H = 150, L = 40, B = 20, T = 8, max = Math.max(1, ...vals), bw = (W - L) / Math.max(1, vals.length);
    const total = vals.reduce((a, b) => a + b, 0);
    const nowSpan = cap.querySelector(".now") || el("span", { class: "now" });
    nowSpan.textContent = nf.format(total) + " in " + days.length + " days";
    cap.append(nowSpan);
    const g = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "Observations per day: " + total + " in " + days.length + " days" });
    g.append(svg("line", { x1: L, y1: H - B, x2: W, y2: H - B, class: "axis" }),
      svg("text", { x: L - 4, y: T + 8, "text-anchor": "end", class: "lbl" }, nf.format(max)),
      svg("text", { x: L - 4, y: H - B, "text-anchor": "end", class: "lbl" }, "0"),
      svg("text", { x: L, y: H - 4, class: "lbl" }, days[0]),
      svg("text", { x: W, y: H - 4, "text-anchor": "end", class: "lbl" }, days[days.length - 1]));
    vals.forEach((v, i) => {
      if (!v) return;
      const h = (v / max) * (H - B - T);
      g.append(svg("rect", { x: (L + i * bw + 1).toFixed(1), y: (H - B - h).toFixed(1), width: Math.max(1, bw - 2).toFixed(1), height: h.toFixed(1), class: "bar" }, svg("title", {}, days[i] + ": " + v)));
    });
    fig.append(g);
  }

  function spark(growth, days, name) {
    const by = new Map(growth.map((g) => [g.day, g.observations]));
    const vals = days.map((d) => by.get(d) || 0);
    const max = Math.max(1, ...vals), W = 160, H = 32, bw = W / Math.max(1, vals.length);
    const total = vals.reduce((a, b) => a + b, 0);
    const g = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": name + ": " + total + " observations in " + days.length + " days", preserveAspectRatio: "none" });
    vals.forEach((v, i) => {
      if (!v) return;
      const h = Math.max(2, (v / max) * (H - 2));
      g.append(svg("rect", { x: (i * bw + 0.5).toFixed(1), y: (H - h).toFixed(1), width: Math.max(1, bw - 1).toFixed(1), height: h.toFixed(1), class: "bar" }, svg("title", {}, days[i] + ": " + v)));
    });
    return g;
  }

  return { el, svg, nf, fmtBytes, fmtMs, fmtAgo, fmtTime, fmtClock, cut, barSpan, fmtDur, table, lineChart, budgetChart, growthChart, spark };
})();
