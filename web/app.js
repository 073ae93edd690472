// mnemo dashboard. Plain JS, no dependencies, served from the worker itself.
//
// Every string that comes from the store (titles, narratives, prompts, project names, error
// messages) is untrusted: it reaches the page only through textContent, attribute values set
// with setAttribute/properties, or SVG text nodes, all built by ui.js's el/svg: nothing is
// ever handed to the browser as HTML markup to parse (the unit test greps the scripts for the
// APIs that would). The CSP forbids inline script as a second line of defence.
"use strict";

(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const { el, svg, nf, fmtBytes, fmtMs, fmtAgo, fmtTime, fmtClock, cut, barSpan, fmtDur, table, lineChart, budgetChart, growthChart, spark } = window.mnemoUI;

  // ---- API -----------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, "NETWORK", "the worker does not answer (" + e.message + ")");
    }
    let j = null;
    try { j = await r.json(); } catch (e) { j = null; }
    if (r.status === 401) { showGate("The worker answered 401: no token cookie in this browser."); throw new ApiError(401, "MNEMO_EACCES", "not signed in"); }
    if (!r.ok) {
      const e = (j && j.error) || {};
      throw new ApiError(r.status, e.code || "HTTP_" + r.status, e.message || "request failed (" + r.status + ")");
    }
    return j;
  }

  function toast(msg, isErr) {
    const t = el("div", { class: "toast" + (isErr ? " err" : "") }, msg);
    $("#toasts").append(t);
    setTimeout(() => t.remove(), isErr ? 7000 : 3500);
  }
  const fail = (e) => { if (!(e instanceof ApiError && e.status === 401)) toast(e.message, true); };

  function showGate(detail) {
    $("#gate").hidden = false;
    $("#main").hidden = true;
    $("#panel").hidden = true;
    $(".top nav").hidden = true;
    $("#gate-detail").textContent = detail || "";
    setLive("off", "signed out");
  }

  // ---- state ---------------------------------------------------------------------------------
  const state = {
    view: "timeline",
    projects: [],
    tl: { items: [], seen: new Set(), next: 0, sel: -1, loading: false },
    search: { results: [], sel: -1 },
    open: null, // the observation in the panel
    lastFocus: null,
  };

  // ---- routing -------------------------------------------------------------------------------
  const views = ["timeline", "search", "health", "projects"];
  function route() {
    const h = location.hash.replace(/^#\/?/, "");
    const [name, arg] = h.split("/");
    if (name === "obs" && /^\d+$/.test(arg || "")) {
      if (!$("#view-" + state.view) || $("#view-" + state.view).hidden) show("timeline");
      openObs(Number(arg));
      return;
    }
    show(views.includes(name) ? name : "timeline");
  }
  function show(name) {
    state.view = name;
    for (const v of views) $("#view-" + v).hidden = v !== name;
    for (const a of $$(".top nav a")) {
      if (a.dataset.view === name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    document.title = "mnemo · " + name;
    if (name === "timeline" && state.tl.items.length === 0) loadTimeline(true).catch(fail);
    if (name === "health") loadHealth().catch(fail);
    if (name === "projects") loadProjects().catch(fail);
    if (name === "search") setTimeout(() => $("#q").focus(), 0);
  }

  // ---- projects (filters) --------------------------------------------------------------------
  // The filters need names only (cheap at any size); the projects view asks for the counts.
  async function loadProjectNames(full) {
    const j = await api("GET", full ? "/v1/dashboard/projects?days=30" : "/v1/dashboard/projects?names=1");
    state.projects = j.projects || [];
    const names = state.projects.map((p) => p.project).sort();
    for (const id of ["#tl-project", "#q-project", "#exp-project"]) {
      const s = $(id);
      const keep = s.value;
      while (s.options.length > 1) s.remove(1);
      for (const n of names) s.append(el("option", { value: n }, n));
      s.value = keep;
    }
    return j;
  }

  // ---- timeline ------------------------------------------------------------------------------
  function tlQuery(before) {
    const p = new URLSearchParams();
    const proj = $("#tl-project").value, type = $("#tl-type").value;
    if (proj) p.set("project", proj);
    if (type) p.set("type", type);
    const kinds = $$('#tl-filters input[name="kind"]:checked').map((i) => i.value);
    p.set("kinds", kinds.length ? kinds.join(",") : "observation");
    if ($("#tl-archived").checked) p.set("archived", "1");
    p.set("limit", "50");
    if (before) p.set("before", String(before));
    return "/v1/dashboard/timeline?" + p.toString();
  }
  const itemKey = (it) => it.kind + ":" + it[it.kind].id;

  async function loadTimeline(reset) {
    const tl = state.tl;
    if (tl.loading) return;
    tl.loading = true;
    try {
      // Paging is by time; the next page starts at the last item's millisecond (inclusive)
      // and drops what was already shown, so equal timestamps at a page edge are not lost.
      const j = await api("GET", tlQuery(reset ? 0 : tl.next + 1));
      if (reset) { tl.items = []; tl.seen = new Set(); tl.sel = -1; $("#tl-list").replaceChildren(); }
      for (const it of j.items || []) {
        const k = itemKey(it);
        if (tl.seen.has(k)) continue;
        tl.seen.add(k);
        tl.items.push(it);
        $("#tl-list").append(renderItem(it));
      }
      tl.next = j.next_before || 0;
      $("#tl-more").hidden = !tl.next;
      $("#tl-empty").hidden = tl.items.length > 0;
    } finally {
      tl.loading = false;
    }
  }

  function typeChip(t) { return el("span", { class: "chip type-" + t }, t); }

  function renderItem(it, fresh) {
    const k = it.kind, v = it[k];
    const li = el("li", {
      class: "item " + k + (v.archived ? " archived" : "") + (fresh ? " fresh" : ""),
      tabindex: "0", dataset: { key: itemKey(it) },
    });
    const when = el("div", { class: "when", title: fmtTime(it.at) }, fmtAgo(it.at));
    let main, side;
    if (k === "observation") {
      main = el("div", {},
        el("div", { class: "title" }, v.title),
        v.subtitle ? el("div", { class: "sub" }, v.subtitle) : null,
        el("div", {}, typeChip(v.type), el("span", { class: "chip" }, v.project),
          v.scope === "global" ? el("span", { class: "chip" }, "global") : null,
          v.archived ? el("span", { class: "chip" }, "archived") : null));
      side = el("div", { class: "side" }, "#" + v.id, el("br"), "importance " + Number(v.importance || 0).toFixed(2));
      li.addEventListener("click", () => openObs(v.id));
    } else if (k === "prompt") {
      main = el("div", {},
        el("div", { class: "title" }, "Prompt " + v.number),
        el("div", { class: "sub" }, cut(v.text, 400) + (v.truncated ? " …" : "")),
        el("div", {}, el("span", { class: "chip" }, v.project), el("span", { class: "chip" }, v.agent)));
      side = el("div", { class: "side" }, "session " + v.session_id);
      li.addEventListener("click", () => openText("Prompt " + v.number + " · " + v.project, [["Prompt", v.text + (v.truncated ? "\n…(cut at 2000 characters)" : "")]], it.at));
    } else {
      const parts = [["Request", v.request], ["Investigated", v.investigated], ["Learned", v.learned],
        ["Completed", v.completed], ["Next steps", v.next_steps], ["Notes", v.notes]].filter((p) => p[1]);
      main = el("div", {},
        el("div", { class: "title" }, "Session summary"),
        el("div", { class: "sub" }, cut(parts.length ? parts[0][1] : "", 300)),
        el("div", {}, el("span", { class: "chip" }, v.project)));
      side = el("div", { class: "side" }, v.session_id ? "session " + v.session_id : "");
      li.addEventListener("click", () => openText("Summary · " + v.project, parts, it.at));
    }
    li.append(when, main, side);
    return li;
  }

  // Live: an observation created anywhere is fetched and put on top when the filters allow it.
  async function onCreated(ev) {
    let d;
    try { d = JSON.parse(ev.data); } catch (e) { return; }
    if (!d || !d.id) return;
    flashLive();
    refreshProjects();
    const tl = state.tl, key = "observation:" + d.id;
    if (tl.seen.has(key)) return;
    const kinds = $$('#tl-filters input[name="kind"]:checked').map((i) => i.value);
    const proj = $("#tl-project").value, type = $("#tl-type").value;
    if (!kinds.includes("observation") || (proj && d.project !== proj) || (type && d.type !== type)) return;
    let j;
    try { j = await api("GET", "/v1/observations/" + d.id); } catch (e) { return; }
    const o = j.observation;
    if (tl.seen.has(key)) return;
    tl.seen.add(key);
    const it = { kind: "observation", at: o.created_at, observation: o };
    tl.items.unshift(it);
    if (tl.sel >= 0) tl.sel++;
    $("#tl-list").prepend(renderItem(it, true));
    $("#tl-empty").hidden = true;
    if (!state.projects.some((p) => p.project === o.project)) loadProjectNames().catch(() => {});
  }

  // Prompts and summaries publish no event of their own: when a session starts or ends (and
  // every 30 s while the timeline is shown) the newest page is read again and what is new goes
  // on top.
  async function refreshTop() {
    const tl = state.tl;
    if (tl.loading || state.view !== "timeline" || !tl.items.length) return;
    const j = await api("GET", tlQuery(0));
    const fresh = (j.items || []).filter((it) => !tl.seen.has(itemKey(it)) && it.at >= tl.items[0].at);
    for (const it of fresh.reverse()) {
      tl.seen.add(itemKey(it));
      tl.items.unshift(it);
      if (tl.sel >= 0) tl.sel++;
      $("#tl-list").prepend(renderItem(it, true));
    }
    if (fresh.length) $("#tl-empty").hidden = true;
  }

  // ---- selection (j/k/Enter) -----------------------------------------------------------------
  function listFor() {
    if (state.view === "timeline") return { ul: $("#tl-list"), st: state.tl };
    if (state.view === "search") return { ul: $("#search-list"), st: state.search };
    return null;
  }
  function moveSel(d) {
    const l = listFor();
    if (!l) return;
    const lis = $$("li.item", l.ul);
    if (!lis.length) return;
    l.st.sel = Math.max(0, Math.min(lis.length - 1, l.st.sel + d));
    lis.forEach((li, i) => li.setAttribute("aria-current", i === l.st.sel ? "true" : "false"));
    const cur = lis[l.st.sel];
    cur.focus({ preventScroll: true });
    cur.scrollIntoView({ block: "nearest" });
  }
  // Tab and clicks move the selection too, so j/k continue from where the focus is.
  function onListFocus(e) {
    const li = e.target.closest && e.target.closest("li.item");
    const l = listFor();
    if (!li || !l || !l.ul.contains(li)) return;
    const lis = $$("li.item", l.ul);
    l.st.sel = lis.indexOf(li);
    lis.forEach((x) => x.setAttribute("aria-current", x === li ? "true" : "false"));
  }

  // ---- panel ---------------------------------------------------------------------------------
  function openPanel(title) {
    const p = $("#panel");
    if (p.hidden) state.lastFocus = document.activeElement;
    p.hidden = false;
    $("#panel-title").textContent = title;
    const body = $("#panel-body");
    body.replaceChildren();
    return body;
  }
  function closePanel() {
    const p = $("#panel");
    if (p.hidden) return;
    p.hidden = true;
    state.open = null;
    if (location.hash.startsWith("#/obs/")) history.replaceState(null, "", "#/" + state.view);
    if (state.lastFocus && document.contains(state.lastFocus)) state.lastFocus.focus();
  }
  function openText(title, parts, at) {
    const body = openPanel(title);
    body.append(el("p", { class: "muted" }, fmtTime(at)));
    for (const [k, v] of parts) body.append(el("h3", {}, k), el("div", { class: "narr" }, v));
    $("#panel-close").focus();
  }

  async function openObs(id) {
    let j;
    try { j = await api("GET", "/v1/observations/" + id); } catch (e) { fail(e); return; }
    state.open = j.observation;
    if (location.hash !== "#/obs/" + id) history.replaceState(null, "", "#/obs/" + id);
    renderObs(j.observation);
    $("#panel-close").focus();
  }

  function list(items) {
    return items && items.length ? el("ul", {}, items.map((x) => el("li", {}, x))) : el("p", { class: "muted" }, "none");
  }

  function renderObs(o) {
    const body = openPanel("Observation #" + o.id);
    body.append(
      el("p", { class: "otitle", id: "obs-title" }, o.title),
      o.subtitle ? el("p", { class: "muted" }, o.subtitle) : null,
      el("div", {}, typeChip(o.type), el("span", { class: "chip" }, o.project), o.scope === "global" ? el("span", { class: "chip" }, "global") : null,
        o.archived ? el("span", { class: "chip" }, "archived" + (o.archived_reason ? ": " + o.archived_reason : "")) : null,
        o.superseded_by ? el("span", { class: "chip" }, "superseded by #" + o.superseded_by) : null));
    const fb = o.feedback || 0;
    body.append(el("div", { class: "btnrow" },
      el("button", { type: "button", id: "obs-edit", onclick: () => editObs(o) }, "Edit (e)"),
      o.archived
        ? el("button", { type: "button", id: "obs-unarchive", class: "secondary", onclick: () => stateChange(o, "unarchive") }, "Unarchive")
        : el("button", { type: "button", id: "obs-archive", class: "secondary", onclick: () => stateChange(o, "archive") }, "Archive"),
      el("button", { type: "button", class: "secondary", "aria-pressed": fb === 1 ? "true" : "false", title: "This memory was useful (feedback +1)", onclick: () => feedback(o, fb === 1 ? 0 : 1) }, "▲ useful"),
      el("button", { type: "button", class: "secondary", "aria-pressed": fb === -1 ? "true" : "false", title: "This memory was not useful (feedback -1)", onclick: () => feedback(o, fb === -1 ? 0 : -1) }, "▼ not useful"),
      el("button", { type: "button", id: "obs-delete", class: "danger", onclick: () => delObs(o) }, "Delete")));
    if (o.narrative) body.append(el("h3", {}, "Narrative"), el("div", { class: "narr" }, o.narrative));
    body.append(el("h3", {}, "Facts"), list(o.facts));
    body.append(el("h3", {}, "Concepts"), el("div", {}, (o.concepts || []).map((c) => el("span", { class: "chip" }, c))));
    const rel = el("ol", { class: "items related", "aria-label": "Related observations" });
    body.append(el("h3", {}, "Related"), rel);
    if ((o.files_read || []).length || (o.files_modified || []).length) {
      body.append(el("h3", {}, "Files read"), list(o.files_read), el("h3", {}, "Files modified"), list(o.files_modified));
    }
    const f = [["id", "#" + o.id], ["uuid", o.uuid], ["provenance", o.provenance], ["importance", Number(o.importance).toFixed(3)],
      ["feedback", String(fb)], ["retrieved", nf.format(o.retrieval_count || 0) + " times, last " + fmtAgo(o.last_retrieved_at)],
      ["session", o.session_id ? "#" + o.session_id : "—"], ["created", fmtTime(o.created_at)], ["updated", fmtTime(o.updated_at)]];
    body.append(el("h3", {}, "Details"), el("dl", { class: "fields" }, f.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
    related(o, rel).catch(() => rel.replaceChildren(el("li", { class: "muted" }, "could not search")));
  }

  // Related: the hybrid search run on this memory's own words, without itself.
  async function related(o, ul) {
    const q = [o.title, o.subtitle, (o.concepts || []).join(" ")].filter(Boolean).join(" ").slice(0, 500);
    const j = await api("POST", "/v1/search", { query: q, project: o.project, limit: 6 });
    const rs = (j.results || []).filter((r) => r.observation && r.observation.id !== o.id).slice(0, 5);
    if (state.open !== o && (!state.open || state.open.id !== o.id)) return;
    ul.replaceChildren(...(rs.length ? rs.map((r) => {
      const x = r.observation;
      const li = el("li", { class: "item observation", tabindex: "0", role: "link" },
        el("div", { class: "when" }, fmtAgo(x.created_at)),
        el("div", { class: "title" }, x.title),
        el("div", { class: "side" }, "#" + x.id));
      const go = () => openObs(x.id);
      li.addEventListener("click", go);
      li.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); go(); } });
      return li;
    }) : [el("li", { class: "muted" }, "nothing close")]));
  }

  function editObs(o) {
    const body = openPanel("Edit observation #" + o.id);
    const types = ["decision", "bugfix", "feature", "refactor", "discovery", "change"];
    const form = el("form", { class: "editor", id: "edit-form" },
      el("label", {}, "Title", el("input", { type: "text", name: "title", id: "edit-title", required: true, maxlength: "500" })),
      el("label", {}, "Subtitle", el("input", { type: "text", name: "subtitle" })),
      el("label", {}, "Type", el("select", { name: "type" }, types.map((t) => el("option", { value: t }, t)))),
      el("label", {}, "Narrative", el("textarea", { name: "narrative", rows: "6" })),
      el("label", {}, "Facts (one per line)", el("textarea", { name: "facts", rows: "4" })),
      el("label", {}, "Concepts (comma separated)", el("input", { type: "text", name: "concepts" })),
      el("div", { class: "btnrow" },
        el("button", { type: "submit", id: "edit-save" }, "Save"),
        el("button", { type: "button", class: "secondary", onclick: () => renderObs(o) }, "Cancel")));
    // Values go in as properties: never parsed as markup.
    form.elements.title.value = o.title || "";
    form.elements.subtitle.value = o.subtitle || "";
    form.elements.type.value = o.type;
    form.elements.narrative.value = o.narrative || "";
    form.elements.facts.value = (o.facts || []).join("\n");
    form.elements.concepts.value = (o.concepts || []).join(", ");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const fe = form.elements;
      const patch = {
        title: fe.title.value.trim(), subtitle: fe.subtitle.value, type: fe.type.value, narrative: fe.narrative.value,
        facts: fe.facts.value.split("\n").map((s) => s.trim()).filter(Boolean),
        concepts: fe.concepts.value.split(",").map((s) => s.trim()).filter(Boolean),
      };
      $("#edit-save").disabled = true;
      try {
        const j = await api("PATCH", "/v1/observations/" + o.id, patch);
        toast("Saved");
        state.open = j.observation;
        replaceInLists(j.observation);
        renderObs(j.observation);
        $("#panel-close").focus();
      } catch (err) {
        fail(err);
        $("#edit-save").disabled = false;
      }
    });
    body.append(form);
    form.elements.title.focus();
  }

  function replaceInLists(o) {
    const key = "observation:" + o.id;
    for (const li of $$('li.item[data-key="' + key + '"]')) {
      const idx = state.tl.items.findIndex((it) => itemKey(it) === key);
      const it = { kind: "observation", at: o.created_at, observation: o };
      if (idx >= 0) state.tl.items[idx] = it;
      const n = renderItem(it);
      if (li.hasAttribute("aria-current")) n.setAttribute("aria-current", li.getAttribute("aria-current"));
      li.replaceWith(n);
    }
  }

  async function stateChange(o, what) {
    const body = what === "archive" ? { reason: "archived from the dashboard" } : undefined;
    try {
      const j = await api("POST", "/v1/observations/" + o.id + "/" + what, body);
      toast(what === "archive" ? "Archived" : "Unarchived");
      state.open = j.observation;
      replaceInLists(j.observation);
      renderObs(j.observation);
      const b = $(what === "archive" ? "#obs-unarchive" : "#obs-archive");
      if (b) b.focus();
    } catch (e) { fail(e); }
  }

  async function feedback(o, vote) {
    try {
      const j = await api("POST", "/v1/observations/" + o.id + "/feedback", { vote });
      toast("Feedback saved (importance " + Number(j.importance).toFixed(2) + ")");
      const g = await api("GET", "/v1/observations/" + o.id);
      state.open = g.observation;
      replaceInLists(g.observation);
      renderObs(g.observation);
    } catch (e) { fail(e); }
  }

  async function delObs(o) {
    if (!window.confirm("Delete observation #" + o.id + " and its vectors? This cannot be undone.")) return;
    try {
      await api("DELETE", "/v1/observations/" + o.id);
      toast("Deleted #" + o.id);
      for (const li of $$('li.item[data-key="observation:' + o.id + '"]')) li.remove();
      state.tl.items = state.tl.items.filter((it) => itemKey(it) !== "observation:" + o.id);
      closePanel();
    } catch (e) { fail(e); }
  }

  // ---- search --------------------------------------------------------------------------------
  const scoreNames = {
    total: "total", fts_rank: "keyword rank", vec_rank: "vector rank", rrf: "rank fusion (RRF)",
    importance_boost: "importance boost", recency_boost: "recency boost", fts_bm25: "keyword BM25",
    vec_sim: "vector similarity", rrf_norm: "fusion, normalised", duplicates: "duplicates folded",
  };
  async function runSearch(e) {
    if (e) e.preventDefault();
    const q = $("#q").value.trim();
    if (!q) return;
    const body = { query: q, limit: 20, explain: true };
    const proj = $("#q-project").value;
    if (proj) body.project = proj;
    $("#search-meta").textContent = "searching…";
    let j;
    try { j = await api("POST", "/v1/search", body); } catch (err) { $("#search-meta").textContent = ""; fail(err); return; }
    const rs = j.results || [];
    state.search = { results: rs, sel: -1 };
    const meta = [rs.length + " result" + (rs.length === 1 ? "" : "s"), "in " + fmtMs(j.took_ms),
      j.vec_used ? "keyword + vector" : "keyword only" + (j.vec_error ? " (" + j.vec_error + ")" : "")];
    $("#search-meta").textContent = meta.join(" · ");
    const maxTotal = Math.max(1e-9, ...rs.map((r) => (r.score && r.score.total) || 0));
    $("#search-list").replaceChildren(...rs.map((r, i) => renderResult(r, i, maxTotal)));
    if (!rs.length) $("#search-list").append(el("li", { class: "empty" }, "No memory matches. Try other words."));
  }
  function renderResult(r, i, maxTotal) {
    const o = r.observation, s = r.score || {};
    const rows = [];
    for (const [k, v] of Object.entries(s)) {
      if (typeof v !== "number") continue;
      // Ranks are positions (1 is best, 0 = not found there); the rest are score parts.
      const isRank = /_rank$/.test(k);
      if (k === "duplicates") { // a count of near-copies folded into this result, not a score
        rows.push(el("span", {}, scoreNames[k] || k), el("span"), el("span", { class: "num" }, String(v)));
        continue;
      }
      const w = isRank ? (v > 0 ? 100 / v : 0) : Math.max(0, Math.min(100, (100 * v) / (k === "total" ? maxTotal : Math.max(maxTotal, 1e-9))));
      rows.push(el("span", {}, scoreNames[k] || k),
        el("span", { class: "bar", "aria-hidden": "true" }, barSpan(w)),
        el("span", { class: "num" }, isRank ? (v > 0 ? "#" + v : "—") : v.toFixed(4)));
    }
    const li = el("li", { class: "item observation", tabindex: "0", dataset: { key: "observation:" + o.id } },
      el("div", {},
        el("div", { class: "title" }, (i + 1) + ". " + o.title),
        o.subtitle ? el("div", { class: "sub" }, o.subtitle) : null,
        el("div", {}, typeChip(o.type), el("span", { class: "chip" }, o.project)),
        el("div", { class: "score explain", "aria-label": "Score explanation" }, rows)),
      el("div", { class: "side" }, "#" + o.id, el("br"), fmtAgo(o.created_at)));
    li.addEventListener("click", () => openObs(o.id));
    return li;
  }

  // ---- health --------------------------------------------------------------------------------
  function card(k, v, d, cls, meter) {
    const c = el("div", { class: "card" + (cls ? " " + cls : "") }, el("div", { class: "k" }, k), el("div", { class: "v" }, v), d ? el("div", { class: "d" }, d) : null);
    if (meter !== undefined) {
      const m = el("div", { class: "meter" + (meter > 0.9 ? " bad" : meter > 0.7 ? " warn" : ""), role: "meter", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(Math.round(meter * 100)), "aria-label": k }, barSpan(Math.min(100, meter * 100)));
      c.append(m);
    }
    return c;
  }

  async function loadHealth() {
    const [stats, hist, health] = await Promise.all([
      api("GET", "/v1/stats"), api("GET", "/v1/dashboard/health"),
      fetch("/v1/health", { credentials: "same-origin" }).then((r) => r.json()).catch(() => ({})),
    ]);
    const now = hist.now || {};
    const store = health.store || {};
    const cards = [];
    const st = store.status || health.status || "?";
    cards.push(card("Store", st, store.warning || store.error || "schema " + (store.schema_version || "?"), st === "healthy" ? "ok" : st === "degraded" ? "warn" : "bad"));
    cards.push(card("WAL", fmtBytes(now.wal_bytes), "checkpoint at " + fmtBytes(now.wal_threshold_bytes), "", now.wal_threshold_bytes ? now.wal_bytes / now.wal_threshold_bytes : undefined));
    cards.push(card("Last checkpoint", fmtAgo(stats.last_checkpoint_at), stats.last_checkpoint_at ? fmtTime(stats.last_checkpoint_at) : ""));
    cards.push(card("Store P95", now.store_p95_ms ? fmtMs(now.store_p95_ms) : "—", "latency of the last 100 operations", now.store_p95_ms > 50 ? "warn" : ""));
    const q = stats.queue || {};
    cards.push(card("Queue", nf.format(q.pending || 0) + " pending", "oldest " + (q.oldest_pending_at ? fmtAgo(q.oldest_pending_at) : "—"), q.pending > 100 ? "warn" : ""));
    cards.push(card("Dead letters", nf.format(q.failed || 0), "events that failed " + "every attempt", q.failed > 0 ? "bad" : "ok"));
    const m = stats.maintenance || {};
    cards.push(card("Maintenance", nf.format(m.runs || 0) + (m.runs === 1 ? " run" : " runs"), "last " + fmtAgo(m.last_run_at) + (m.reembed_pending ? " · " + nf.format(m.reembed_pending) + " to re-embed" : "")));
    const e = stats.embedder || {};
    cards.push(card("Embedder", e.enabled ? e.provider : "off", e.enabled ? e.model + " · " + e.dim + " dims · " + nf.format((stats.index || {}).vectors || 0) + " vectors" : "keyword search only"));
    const l = stats.llm || {};
    const callCap = now.llm_daily_calls, tokCap = now.llm_daily_tokens;
    cards.push(card("LLM extractor", l.enabled ? nf.format(l.calls_today || 0) + " calls today" : "off",
      l.enabled ? "of " + (callCap < 0 ? "∞" : nf.format(callCap)) + " · " + nf.format(l.tokens_today || 0) + " tokens · " + nf.format(l.fallbacks || 0) + " fallbacks" : "the rules extractor runs",
      l.budget_exhausted ? "warn" : "", l.enabled && callCap > 0 ? (l.calls_today || 0) / callCap : undefined));
    cards.push(card("Uptime", fmtDur(stats.uptime_ms), "version " + (health.version || "?")));
    $("#health-cards").replaceChildren(...cards);

    const ss = hist.samples || [];
    lineChart($("#chart-wal"), ss, [{ key: "wal_bytes", cls: "s1", name: "WAL" }], { fmt: fmtBytes, limit: now.wal_threshold_bytes, limitName: "checkpoint threshold", area: true, now: fmtBytes(now.wal_bytes) });
    lineChart($("#chart-p95"), ss, [{ key: "store_p95_ms", cls: "s1", name: "P95" }], { fmt: fmtMs, skipZero: true, now: now.store_p95_ms ? fmtMs(now.store_p95_ms) : "—" });
    lineChart($("#chart-queue"), ss, [{ key: "queue_pending", cls: "s2", name: "pending" }, { key: "dead_letters", cls: "s3", name: "dead letters" }], { fmt: (v) => nf.format(Math.round(v)), now: nf.format(q.pending || 0) + " / " + nf.format(q.failed || 0) });
    budgetChart($("#chart-llm"), l, callCap, tokCap);

    const ck = (hist.checkpoints || []).slice().reverse().slice(0, 12);
    table($("#ckpt-table"), ["when", "WAL before", "after", "took", "result"],
      ck.map((c) => [fmtAgo(c.at), fmtBytes(c.wal_before), fmtBytes(c.wal_after), fmtMs(c.duration_ms), c.ok ? "ok" : c.busy ? "busy (readers)" : "failed"]),
      "No checkpoint since the worker started.", [1, 2, 3]);
    const mr = (hist.maintenance || []).slice().reverse().slice(0, 12);
    table($("#maint-table"), ["when", "took", "deleted", "prompts", "events", "result"],
      mr.map((r) => [fmtAgo(r.started_at), fmtMs(r.duration_ms), nf.format((r.observations_deleted || 0) + (r.superseded_deleted || 0)), nf.format(r.prompts_deleted || 0), nf.format(r.events_pruned || 0), r.ok ? "ok" : (r.error && r.error.message) || "failed"]),
      "No maintenance run since the worker started.", [1, 2, 3, 4]);
  }



  // ---- projects ------------------------------------------------------------------------------
  async function loadProjects() {
    const j = await loadProjectNames(true);
    const ps = j.projects || [];
    const t = $("#proj-table");
    const head = ["project", "live", "archived", "superseded", "sessions", "prompts", "summaries", "searches", "context", "hits", "last activity", "growth (" + j.days + " days)"];
    const days = [];
    const first = Date.parse(j.since_day + "T00:00:00Z");
    for (let i = 0; i < j.days; i++) days.push(new Date(first + i * 86400000).toISOString().slice(0, 10));
    const perDay = days.map((d) => ps.reduce((a, p) => a + ((p.growth || []).find((g) => g.day === d)?.observations || 0), 0));
    growthChart($("#chart-growth"), days, perDay);
    table(t, head, ps.map((p) => {
      const o = p.observations || {}, r = p.retrieval || {};
      return [p.project, nf.format(o.live || 0), nf.format(o.archived || 0), nf.format(o.superseded || 0), nf.format(p.sessions || 0), nf.format(p.prompts || 0),
        nf.format(p.summaries || 0), nf.format(r.searches || 0), nf.format(r.context_requests || 0), nf.format(r.hits || 0), fmtAgo(p.last_activity_at),
        el("div", { class: "sparkcell" }, spark(p.growth || [], days, p.project), el("span", { class: "muted" }, "+" + nf.format((p.growth || []).reduce((a, g) => a + g.observations, 0))))];
    }), "No project yet.", [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    $$("tbody tr", t).forEach((tr) => {
      tr.cells[0].classList.add("name");
      tr.cells[tr.cells.length - 1].classList.add("spark");
    });
  }

  // ---- actions -------------------------------------------------------------------------------
  async function busy(btn, fn) {
    btn.disabled = true;
    try { await fn(); } catch (e) { fail(e); } finally { btn.disabled = false; }
  }
  function wireActions() {
    $("#act-maint").addEventListener("click", (e) => busy(e.currentTarget, async () => {
      const j = await api("POST", "/v1/maintenance", { timeout_ms: 60000 });
      const r = j.report || {};
      toast("Maintenance ran in " + fmtMs(r.duration_ms) + (r.ok ? "" : ": " + ((r.error && r.error.message) || "failed")), !r.ok);
      await loadHealth();
    }));
    $("#act-ckpt").addEventListener("click", (e) => busy(e.currentTarget, async () => {
      const j = await api("POST", "/v1/checkpoint");
      toast("Checkpoint: WAL " + fmtBytes(j.wal_bytes_before) + " → " + fmtBytes(j.wal_bytes_after) + " in " + fmtMs(j.took_ms));
      await loadHealth();
    }));
    $("#act-retry").addEventListener("click", (e) => busy(e.currentTarget, async () => {
      const j = await api("POST", "/v1/events/retry", {});
      toast(nf.format(j.requeued || 0) + " dead letters requeued");
      await loadHealth();
    }));
    $("#export-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const p = new URLSearchParams({ format: $("#exp-format").value });
      if ($("#exp-project").value) p.set("project", $("#exp-project").value);
      // A plain navigation: the answer is an attachment, so the page stays.
      const a = el("a", { href: "/v1/observations/export?" + p.toString(), download: "" });
      document.body.append(a);
      a.click();
      a.remove();
    });
  }

  // At most one call of fn per ms, the last request honoured: a burst of events must not turn
  // into a burst of full counts (the projects view reads the whole table: ~0.3 s at 100k rows).
  function throttled(fn, ms) {
    let last = 0, timer = 0;
    return () => {
      if (timer) return;
      const wait = Math.max(0, last + ms - Date.now());
      timer = setTimeout(() => { timer = 0; last = Date.now(); fn(); }, wait);
    };
  }
  const refreshProjects = throttled(() => { if (state.view === "projects") loadProjects().catch(() => {}); }, 10000);
  const refreshHealthSoon = throttled(() => { if (state.view === "health") loadHealth().catch(() => {}); }, 3000);

  // ---- live events ---------------------------------------------------------------------------
  function setLive(cls, text) {
    const l = $("#live");
    l.className = "live " + cls;
    l.textContent = text;
  }
  let flashTimer = 0;
  function flashLive() {
    setLive("on", "live · new memory");
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => setLive("on", "live"), 2500);
  }
  function connectStream() {
    const es = new EventSource("/v1/stream");
    es.addEventListener("open", () => setLive("on", "live"));
    es.addEventListener("error", () => setLive("off", "reconnecting…"));
    es.addEventListener("observation.created", onCreated);
    es.addEventListener("maintenance.ran", refreshHealthSoon);
    es.addEventListener("checkpoint.ran", refreshHealthSoon);
    es.addEventListener("queue.status", refreshHealthSoon);
    es.addEventListener("session.started", () => refreshTop().catch(() => {}));
    es.addEventListener("session.ended", () => refreshTop().catch(() => {}));
  }

  // ---- keyboard ------------------------------------------------------------------------------
  function typing(t) {
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") {
      if ($("#help").open) return; // the dialog closes itself
      if (!$("#panel").hidden) { e.preventDefault(); closePanel(); return; }
      if (typing(e.target)) e.target.blur();
      return;
    }
    if (typing(e.target) || !$("#gate").hidden) return;
    const k = e.key;
    if (k === "/") { e.preventDefault(); if (state.view !== "search") location.hash = "#/search"; setTimeout(() => { $("#q").focus(); $("#q").select(); }, 0); }
    else if (k === "j") { e.preventDefault(); moveSel(1); }
    else if (k === "k") { e.preventDefault(); moveSel(-1); }
    else if (k === "Enter" && e.target.closest && e.target.closest("li.item") && !e.target.closest(".panel")) { e.preventDefault(); e.target.closest("li.item").click(); }
    else if (k === "e" && state.open && !$("#panel").hidden) { e.preventDefault(); editObs(state.open); }
    else if (k === "?") { e.preventDefault(); $("#help").showModal(); }
    else if (/^[1-4]$/.test(k)) { e.preventDefault(); location.hash = "#/" + views[Number(k) - 1]; }
  }

  // ---- start ---------------------------------------------------------------------------------
  async function start() {
    window.addEventListener("hashchange", route);
    document.addEventListener("keydown", onKey);
    $("#tl-list").addEventListener("focusin", onListFocus);
    $("#search-list").addEventListener("focusin", onListFocus);
    $("#panel-close").addEventListener("click", closePanel);
    $("#help-btn").addEventListener("click", () => $("#help").showModal());
    $("#search-form").addEventListener("submit", runSearch);
    $("#tl-filters").addEventListener("change", () => loadTimeline(true).catch(fail));
    $("#tl-more").addEventListener("click", () => loadTimeline(false).catch(fail));
    wireActions();
    for (;;) {
      try {
        await loadProjectNames();
        break;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return;
        if (!(e instanceof ApiError && e.status === 503)) { fail(e); break; }
        setLive("off", "worker starting…");
        await new Promise((res) => setTimeout(res, 1000));
      }
    }
    connectStream();
    route();
    setInterval(() => { if (state.view === "health" && !document.hidden) loadHealth().catch(() => {}); }, 15000);
    setInterval(() => { if (!document.hidden) refreshTop().catch(() => {}); }, 30000);
  }
  document.addEventListener("DOMContentLoaded", start);
})();
