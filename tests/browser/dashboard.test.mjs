// dashboard.test.mjs - the dashboard in a real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core): a real worker (MNEMO_BIN) on a temporary home and a free port,
// seeded through the API, then: the page loads behind the token cookie, stored XSS payloads
// render as inert text, a new observation arrives live over SSE, search shows explanations,
// an edit persists, archive works, health charts draw, and nothing logs a console error.
// Screenshots go to $MNEMO_SCREENSHOTS. Prints "N passed, M failed" last.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const BIN = process.env.MNEMO_BIN;
const DEPS = process.env.MNEMO_BROWSER_DEPS || path.dirname(new URL(import.meta.url).pathname);
const SHOTS = process.env.MNEMO_SCREENSHOTS || path.join(os.tmpdir(), "mnemo-screenshots");
mkdirSync(SHOTS, { recursive: true });
const CHROMIUM = process.env.MNEMO_CHROMIUM || "/usr/bin/chromium";
const { chromium } = createRequire(path.join(DEPS, "package.json"))("playwright-core");

const XSS_IMG = '<img src=x onerror="window.__xss=1">';
const XSS_SCRIPT = "<script>window.__xss=2</script>";

let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) { passed++; console.log("ok   " + name); }
  else { failed++; console.log("FAIL " + name + (detail ? ": " + detail : "")); }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A screenshot for the README: without passing toasts or a hover left by the last click.
async function shot(page, name, full) {
  await page.evaluate(() => { document.querySelectorAll(".toast").forEach((t) => t.remove()); window.scrollTo(0, 0); });
  await page.mouse.move(1, 850);
  await page.screenshot({ path: path.join(SHOTS, name + ".png"), fullPage: !!full });
}

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

const home = mkdtempSync(path.join(os.tmpdir(), "mnemo-browser-"));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const worker = spawn(BIN, ["serve"], {
  env: { ...process.env, MNEMO_HOME: home, MNEMO_TCP_LISTEN: `127.0.0.1:${port}`, MNEMO_DASHBOARD_SAMPLE_MS: "250",
    MNEMO_EMBED_PROVIDER: "hash", MNEMO_LOG_LEVEL: "warn", MNEMO_HTTP_RATE_LIMIT: "0" },
  stdio: ["ignore", "inherit", "inherit"],
});
let browser = null;

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  if (worker.exitCode === null) {
    worker.kill("SIGTERM");
    for (let i = 0; i < 200 && worker.exitCode === null; i++) await sleep(100);
    if (worker.exitCode === null) worker.kill("SIGKILL");
  }
  // Under ASan a leak or an error report makes this non-zero.
  check("the worker stopped cleanly (exit 0 after SIGTERM)", worker.exitCode === 0, `exit ${worker.exitCode} ${worker.signalCode || ""}`);
  rmSync(home, { recursive: true, force: true });
}

let token = "";
async function call(method, p, body) {
  const r = await fetch(base + p, {
    method, headers: { Authorization: "Bearer " + token, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const j = await r.json().catch(() => null);
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

const seed = [
  { project: "acme-api", type: "bugfix", title: "Flaky login test: the session cookie expired during slow CI runs",
    subtitle: "Raised the test clock's TTL and froze time in the fixture", narrative: "The login integration test failed one run in ten on CI. The fixture created the session at import time; on slow runners more than 30 s passed before the request.\nFreezing the clock in the fixture fixed it.",
    facts: ["CI runners can be 5x slower than laptops", "fixtures must not create sessions at import time"], concepts: ["testing", "gotcha"], files_modified: ["tests/test_login.py"] },
  { project: "acme-api", type: "decision", title: "Use PostgreSQL advisory locks for the job scheduler",
    subtitle: "Instead of a Redis lock: one less moving part", narrative: "Only one scheduler may run jobs at a time. pg_try_advisory_lock gives that with the database we already have.",
    facts: ["advisory locks are released when the connection closes"], concepts: ["architecture"] },
  { project: "acme-api", type: "discovery", title: "The payments webhook retries for 72 hours with exponential backoff",
    narrative: "Handlers must be idempotent: the provider may deliver the same event many times.", concepts: ["pattern", "error-handling"] },
  { project: "acme-web", type: "feature", title: "Dark mode follows the system setting", subtitle: "prefers-color-scheme plus a manual override stored in localStorage",
    concepts: ["workflow"], files_modified: ["src/theme.ts", "src/App.tsx"] },
  { project: "acme-web", type: "refactor", title: "Split the 1,400-line Dashboard component into five views",
    narrative: "Each view owns its data loading; the shell only routes.", concepts: ["architecture"] },
  { project: "acme-web", type: "bugfix", title: XSS_IMG, subtitle: XSS_SCRIPT, narrative: `narrative with ${XSS_SCRIPT} and ${XSS_IMG}`,
    concepts: ["<b>bold</b>"], facts: [XSS_IMG] },
  { project: "acme-api", type: "change", title: XSS_SCRIPT, narrative: "a <script> title must stay text" },
];

// A month of history (imported with its timestamps) for the growth charts; older than the seed,
// so the timeline's first page is the seed's rows and these below them.
const topics = ["retry the flaky upload", "cache the config parse", "index on orders(created_at)", "pin the Node version in CI",
  "log the request id", "timeouts on the search client", "feature flag for the new editor", "N+1 query in the invoices list",
  "rename the billing module", "drop the legacy auth header"];
const types = ["bugfix", "decision", "feature", "refactor", "discovery", "change"];
const history = [];
for (let i = 0; i < 48; i++) {
  const day = 29 - Math.floor((i * 29) / 48);
  const at = Date.now() - day * 86400000 - 3600000 - i * 60000;
  history.push({ project: i % 3 === 0 ? "acme-web" : "acme-api", type: types[i % types.length],
    title: `Earlier: ${topics[i % topics.length]} (${i + 1})`, narrative: "from the history the growth charts show",
    created_at: at, updated_at: at });
}
const PAGE = 50;

try {
  for (let i = 0; i < 200; i++) {
    try { const r = await fetch(base + "/v1/health"); if (r.status === 200) break; } catch (e) { /* not up yet */ }
    await sleep(100);
  }
  token = readFileSync(path.join(home, "token"), "utf8").trim();
  const ids = {};
  const imp = await call("POST", "/v1/observations/import", { observations: history });
  if (imp.imported !== history.length) throw new Error("import: " + JSON.stringify(imp));
  for (const o of seed) ids[o.title] = (await call("POST", "/v1/observations", o)).id;
  const s = (await call("POST", "/v1/sessions", { agent: "claude", agent_session_id: "browser-test-1", project: "acme-api" })).session;
  await call("POST", `/v1/sessions/${s.id}/prompts`, { text: "why does the login test fail on CI but not locally?" });
  await call("POST", `/v1/sessions/${s.id}/summary`, { request: "Fix the flaky login test", learned: "Fixtures created sessions at import time", completed: "Froze the clock in the fixture", next_steps: "Audit other fixtures" });

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light" });
  const page = await ctx.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("dialog", (d) => d.accept());
  page.setDefaultTimeout(15000);

  // Load: the tokenized address trades the token for the cookie and lands on `/`.
  await page.goto(`${base}/?token=${token}`);
  check("the token redirect lands on / without the token", new URL(page.url()).search === "" && new URL(page.url()).pathname === "/", page.url());
  await page.waitForSelector("#tl-list li.item");
  const n = await page.locator("#tl-list li.item").count();
  check("the timeline lists observations, prompts and summaries", n === Math.min(PAGE, seed.length + 2 + history.length), `${n} items`);
  await page.click("#tl-more");
  await page.waitForFunction((want) => document.querySelectorAll("#tl-list li.item").length === want, seed.length + 2 + history.length);
  check("'Load older' pages through the rest", (await page.locator("#tl-list li.item").count()) === seed.length + 2 + history.length);
  check("the timeline shows a prompt and a summary",
    (await page.locator("#tl-list li.prompt").count()) === 1 && (await page.locator("#tl-list li.summary").count()) === 1);

  // XSS: the payloads are text, no element was created from them, nothing ran.
  const titles = await page.locator("#tl-list .title").allTextContents();
  check("an <img onerror> title is shown as text", titles.includes(XSS_IMG));
  check("a <script> title is shown as text", titles.includes(XSS_SCRIPT));
  check("no element was made from stored markup", (await page.locator("#tl-list img, #tl-list script, #tl-list b").count()) === 0);
  await page.locator("#tl-list li.item", { hasText: XSS_IMG }).first().click();
  await page.waitForSelector("#panel:not([hidden]) #obs-title");
  check("the observation view shows the payload as text", (await page.locator("#obs-title").textContent()) === XSS_IMG);
  check("the observation view made no element from stored markup", (await page.locator("#panel img, #panel-body script, #panel b").count()) === 0);
  await page.keyboard.press("Escape");
  check("Esc closes the observation view", await page.locator("#panel").isHidden());
  check("window.__xss stays undefined", (await page.evaluate(() => typeof window.__xss)) === "undefined");

  // Filters: the project filter narrows the timeline to one project.
  const web = seed.filter((o) => o.project === "acme-web").length + history.filter((o) => o.project === "acme-web").length;
  await page.selectOption("#tl-project", "acme-web");
  await page.waitForFunction((want) => document.querySelectorAll("#tl-list li.item").length === want, web);
  check("the project filter narrows the timeline", (await page.locator("#tl-list li.item").count()) === web);
  await page.selectOption("#tl-project", "");
  await page.waitForFunction((want) => document.querySelectorAll("#tl-list li.item").length === want, Math.min(PAGE, seed.length + 2 + history.length));

  // Live: an observation POSTed through the API appears without a reload.
  await page.evaluate(() => { window.__marker = 1; });
  await page.waitForFunction(() => document.querySelector("#live").classList.contains("on"));
  const liveTitle = "Live: migrations run in a transaction per file";
  await call("POST", "/v1/observations", { project: "acme-api", type: "discovery", title: liveTitle, narrative: "arrived over server-sent events" });
  await page.waitForFunction((t) => document.querySelector("#tl-list li.item .title")?.textContent === t, liveTitle, { timeout: 10000 })
    .then(() => check("a new observation appears live (SSE) at the top", true))
    .catch((e) => check("a new observation appears live (SSE) at the top", false, e.message));
  check("the page was not reloaded", (await page.evaluate(() => window.__marker)) === 1);
  // Prompts publish no event: the end of their session brings them in.
  const s2 = (await call("POST", "/v1/sessions", { agent: "codex", agent_session_id: "browser-test-2", project: "acme-web" })).session;
  await call("POST", `/v1/sessions/${s2.id}/prompts`, { text: "make the settings page keyboard friendly" });
  await call("POST", `/v1/sessions/${s2.id}/end`, {});
  await page.waitForFunction(() => Array.from(document.querySelectorAll("#tl-list li.prompt .sub")).some((e) => e.textContent.includes("keyboard friendly")), null, { timeout: 10000 })
    .then(() => check("a prompt appears when its session ends", true))
    .catch((e) => check("a prompt appears when its session ends", false, e.message));
  await sleep(600);
  await shot(page, "timeline");

  // Keyboard: j moves the selection, Enter opens it.
  await page.locator("body").focus();
  await page.keyboard.press("j");
  await page.keyboard.press("j");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#panel:not([hidden])");
  check("j/j/Enter opens the second timeline item", (await page.locator("#panel-title").textContent()).length > 0);
  await page.keyboard.press("Escape");

  // Search: "/" focuses the box; results carry score explanations.
  await page.keyboard.press("/");
  check("/ focuses the search box", await page.evaluate(() => document.activeElement?.id === "q"));
  await page.keyboard.type("flaky login test");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#search-list li.item .score.explain");
  const first = await page.locator("#search-list li.item .title").first().textContent();
  check("search finds the login bugfix first", first.includes("Flaky login test"), first);
  const explain = await page.locator("#search-list li.item").first().locator(".score").textContent();
  check("search results explain their score", explain.includes("total") && explain.includes("keyword rank"), explain);
  await shot(page, "search");

  // Observation: open, edit the title, see it persisted through the API.
  await page.locator("#search-list li.item").first().click();
  await page.waitForSelector("#panel:not([hidden]) #obs-edit");
  await page.waitForSelector("#panel .related li");
  const id = ids[seed[0].title];
  await shot(page, "observation");
  await page.keyboard.press("e");
  await page.waitForSelector("#edit-title");
  const newTitle = "Flaky login test: session cookie expired on slow CI (fixture clock frozen)";
  await page.fill("#edit-title", newTitle);
  await page.click("#edit-save");
  await page.waitForFunction((t) => document.querySelector("#obs-title")?.textContent === t, newTitle);
  const got = (await call("GET", `/v1/observations/${id}`)).observation;
  check("an edited title is persisted", got.title === newTitle, got.title);

  // Archive, as the API sees it, and back.
  await page.click("#obs-archive");
  await page.waitForSelector("#obs-unarchive");
  check("archive archives", (await call("GET", `/v1/observations/${id}`)).observation.archived === true);
  await page.click("#obs-unarchive");
  await page.waitForSelector("#obs-archive");
  check("unarchive brings it back", (await call("GET", `/v1/observations/${id}`)).observation.archived === false);
  // Feedback: "useful" is a +1 vote.
  await page.click("button:has-text('useful')");
  await page.waitForFunction(() => document.querySelector("#panel-body button[aria-pressed='true']"));
  check("feedback 'useful' stores +1", (await call("GET", `/v1/observations/${id}`)).observation.feedback === 1);
  await page.keyboard.press("Escape");

  // Delete (the confirmation is accepted): gone from the page and from the store.
  const victim = ids[XSS_SCRIPT];
  await page.evaluate((v) => { location.hash = "#/obs/" + v; }, victim);
  await page.waitForSelector("#panel:not([hidden]) #obs-delete");
  await page.click("#obs-delete");
  await page.waitForSelector("#panel", { state: "hidden" });
  const gone = await fetch(`${base}/v1/observations/${victim}`, { headers: { Authorization: "Bearer " + token } });
  check("delete deletes", gone.status === 404, String(gone.status));
  check("a deleted observation leaves the timeline", (await page.locator(`#tl-list li[data-key="observation:${victim}"]`).count()) === 0);

  // Health: cards and charts, a forced checkpoint shows in the table.
  await page.keyboard.press("3");
  await page.waitForSelector("#health-cards .card");
  await page.click("#act-ckpt");
  await page.waitForFunction(() => !document.querySelector("#act-ckpt").disabled && document.querySelectorAll("#ckpt-table tbody tr td").length > 1);
  await page.click("#act-maint");
  await page.waitForFunction(() => !document.querySelector("#act-maint").disabled && document.querySelectorAll("#maint-table tbody tr td").length > 1);
  await sleep(1200);
  await page.evaluate(() => { location.hash = "#/timeline"; });
  await page.evaluate(() => { location.hash = "#/health"; });
  await page.waitForSelector("#chart-wal svg polyline");
  check("the WAL chart draws from the sampled history", (await page.locator("#chart-wal svg polyline").count()) === 1);
  check("the checkpoint table lists the forced checkpoint", (await page.locator("#ckpt-table tbody tr").count()) >= 1);
  check("the maintenance table lists the run", (await page.locator("#maint-table tbody td").first().textContent()) !== "No maintenance run since the worker started.");
  await shot(page, "health", true);

  await page.keyboard.press("4");
  await page.waitForSelector("#proj-table tbody tr td.spark svg");
  check("the projects view lists both projects", (await page.locator("#proj-table tbody tr").count()) === 2);
  const bars = await page.locator("#chart-growth svg rect.bar").count();
  check("the growth chart has a bar per day with observations", bars >= 20, `${bars} bars`);
  await shot(page, "projects");
  await page.selectOption("#exp-format", "csv");
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#export-form button[type=submit]")]);
  check("export downloads a CSV attachment", dl.suggestedFilename() === "mnemo-export.csv", dl.suggestedFilename());

  check("no console errors", errors.length === 0, errors.join(" | "));

  // Without the cookie the page explains how to open it.
  const anon = await browser.newPage();
  await anon.goto(base + "/");
  await anon.waitForSelector("#gate:not([hidden])");
  check("without the cookie the page says to run `mnemo dashboard`", (await anon.locator("#gate").textContent()).includes("mnemo dashboard"));
  await anon.close();
} catch (e) {
  check("the test ran to the end", false, e.stack || String(e));
} finally {
  await cleanup();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
