// Browser tests of the website, run by web/internal/e2etest for a Go test:
// node run.mjs <config.json>. The config names the scenario ("fixture": a
// site over a task server filled with a history; "devnet": a site over a
// running devnet, its CLI summary and a built dataset), the site's and the
// task server's base URLs, the hotkeys and numbers to expect, and the
// folder for screenshots. Every number the pages show is checked against
// the task server's public API read at the same moment. Prints a JSON
// report; exits 1 on failure.
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = cfg.base;
mkdirSync(cfg.artifacts, { recursive: true });
const checks = [], failures = [];
const t0 = Date.now();
function check(name, ok, detail) {
  const at = ` @${((Date.now() - t0) / 1000).toFixed(1)}s`;
  (ok ? checks : failures).push((detail === undefined || ok ? name : `${name}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`) + at);
}
const fmt = (n) => Math.round(n).toLocaleString("en-US");
async function api(path) {
  const r = await fetch(cfg.api + path);
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}
async function sign(uri, message) {
  const r = await fetch(cfg.signer, { method: "POST", body: JSON.stringify({ uri, message }) });
  if (!r.ok) throw new Error("signer: " + r.status);
  return (await r.json()).signature;
}
const text = async (page, sel) => ((await page.textContent(sel)) || "").trim();

// chart waits for a uPlot chart and returns what it drew: its scales (the
// axes' ranges), its point count and whether its canvas has ink.
async function chart(page, sel) {
  try {
    await page.waitForSelector(`${sel}[data-drawn="yes"] canvas`, { timeout: 10000 });
  } catch (e) {
    return { drawn: false, state: await page.getAttribute(sel, "data-drawn") };
  }
  return page.$eval(sel, (box) => {
    const c = box.querySelector("canvas");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
    const legend = Array.from(document.querySelectorAll(`ul.legend[data-legend-for="${box.id}"] li`)).map((li) => li.textContent);
    const n = (k) => parseFloat(box.getAttribute("data-" + k));
    return { drawn: ink > 100, xmin: n("xmin"), xmax: n("xmax"), ymin: n("ymin"), ymax: n("ymax"), points: n("points"), legend };
  });
}

// A legend names its lines with real values, never "--".
function legendOK(c) {
  return c.legend && c.legend.length > 0 && c.legend.every((l) => l.includes(":") && !l.includes("--") && /\d/.test(l));
}

// phone checks a page at a phone's width: no sideways scrolling of the
// page; for a leaderboard, the Incentive and Emission columns in view.
async function phone(browser, shot, pages) {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const pp = await ctx.newPage();
  for (const [name, path, table] of pages) {
    await pp.goto(base + path);
    const w = await pp.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    check(`phone ${name} fits`, w[0] <= 390 && w[1] === 390, w);
    if (table) {
      const cols = await pp.$$eval(`${table} thead th`, (ths) => ths.map((th) => { const r = th.getBoundingClientRect(); return [th.textContent.trim(), Math.round(r.left), Math.round(r.right)]; }));
      for (const want of ["Incentive", "Emission α"]) {
        const col = cols.find((c) => c[0] === want);
        check(`phone ${name}: ${want} in view`, col && col[1] >= 0 && col[2] <= 390, cols);
      }
    }
    await shot(`${name}-phone`, pp);
  }
  await ctx.close();
}

const browser = await chromium.launch({
  executablePath: cfg.chromium || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const consoleErrors = [];
function watch(page) {
  // Expected 401/403/404 answers are logged as failed loads: not errors of the site.
  page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
}
const shot = (name, p) => p.screenshot({ path: join(cfg.artifacts, name + ".png"), fullPage: true });

// overview checks the overview's numbers against the task server's stats.
async function overview(page, label) {
  await page.goto(base + "/");
  const st = await api("/v1/stats");
  const got = {
    tokens: await text(page, '[data-k="stats.accepted.tokens"]'),
    documents: await text(page, '[data-k="stats.accepted.documents"]'),
    submissions: await text(page, '[data-k="stats.accepted.submissions"]'),
    done: await text(page, '[data-k="stats.counts.done"]'),
    tasks: await text(page, '[data-k="stats.counts.tasks"]'),
  };
  const want = { tokens: fmt(st.accepted.tokens), documents: fmt(st.accepted.documents), submissions: fmt(st.accepted.submissions),
    done: fmt(st.counts.done), tasks: fmt(st.counts.tasks) };
  check(`${label}: overview numbers are the API's`, JSON.stringify(got) === JSON.stringify(want), { got, want });
  const rows = await page.$$eval("#crawls tbody tr", (trs) => trs.map((tr) => Array.from(tr.cells).map((c) => c.textContent.trim())));
  const apiRows = st.crawls.map((c) => [c.crawl, fmt(c.tasks), fmt(c.done), fmt(c.submitted), fmt(c.submissions), fmt(c.documents), fmt(c.tokens)]);
  check(`${label}: per-crawl table is the API's (every task counted)`, JSON.stringify(rows) === JSON.stringify(apiRows), { rows, apiRows });
  const kinds = await page.$$eval("#events li", (lis) => lis.map((li) => li.className));
  check(`${label}: events listed, no heartbeats`, kinds.length > 0 && !kinds.includes("ev-heartbeat"), kinds);
  const tok = await chart(page, "#chart-tokens");
  // Honest x axis: the data's span (at most the API's 7-day window) or,
  // for one point, one step either side; never years.
  check(`${label}: tokens chart drawn from 0 and ending at the total`, tok.drawn && tok.ymin === 0 && tok.xmax > tok.xmin &&
    tok.xmax - tok.xmin <= 8 * 86400 && (tok.points > 1 || tok.xmax - tok.xmin <= 2 * 3600) && legendOK(tok) &&
    tok.legend[0].includes(fmt(st.accepted.tokens)), tok);
  const comp = await chart(page, "#chart-completions");
  check(`${label}: submissions chart drawn from 0`, comp.drawn && comp.ymin === 0 && comp.xmax - comp.xmin <= 3 * 86400 && legendOK(comp), comp);
  return st;
}

// leaderboards checks the miners' and validators' tables against the API,
// rereading both until they show the same metagraph block (the chain moves
// on while the test runs).
async function leaderboards(page, label, validators) {
  let ok = false, detail;
  for (let attempt = 0; attempt < 5 && !ok; attempt++) {
    const res = await api("/v1/miners?since=168h&limit=1000");
    await page.goto(base + "/miners");
    const block = (await text(page, "main p.muted")).match(/block (\d+)/);
    if (!block || +block[1] !== res.metagraph_block) { detail = "metagraph moved"; continue; }
    const rows = await page.$$eval("#miners tbody tr", (trs) => trs.map((tr) => ({
      hotkey: tr.cells[1].querySelector("a").getAttribute("title"),
      inc: +tr.cells[2].getAttribute("data-v"), em: +tr.cells[3].getAttribute("data-v"), tok: +tr.cells[4].getAttribute("data-v") })));
    const want = new Map(res.miners.map((m) => [m.hotkey, m]));
    ok = rows.length === res.miners.length && rows.every((r) => want.has(r.hotkey) && want.get(r.hotkey).incentive === r.inc &&
      want.get(r.hotkey).emission === r.em && want.get(r.hotkey).tokens === r.tok);
    detail = { rows, api: res.miners };
  }
  check(`${label}: miners table is the API's (incentive, emission, tokens)`, ok, detail);
  await page.click('#miners th:nth-child(4)');
  const em = await page.$$eval("#miners tbody tr td:nth-child(4)", (tds) => tds.map((t) => parseFloat(t.getAttribute("data-v"))));
  check(`${label}: miners sort by emission`, em.every((v, i) => i === 0 || em[i - 1] >= v), em);
  await shot(`${label}-miners-desktop`, page);

  const res = await api("/v1/validators");
  await page.goto(base + "/validators");
  const vrows = await page.$$eval("#validators tbody tr", (trs) => trs.map((tr) => tr.cells[1].querySelector("a").getAttribute("title")));
  check(`${label}: validators table lists the validators only`, JSON.stringify([...vrows].sort()) === JSON.stringify([...validators].sort()) &&
    JSON.stringify([...vrows].sort()) === JSON.stringify(res.validators.map((v) => v.hotkey).sort()), { vrows, validators });
  await shot(`${label}-validators-desktop`, page);
}

async function signInChecks(page) {
  // The challenge is a textarea that keeps its lines; the Copy button and
  // the keyboard copy exactly the signed text.
  async function challenge(p, hotkey) {
    await p.goto(base + "/signin");
    await p.fill("#hotkey", hotkey);
    await p.click("#challenge-form button[type=submit]");
    await p.waitForSelector("#challenge");
  }
  await challenge(page, cfg.miners[0]);
  const shown = await page.$eval("#challenge", (t) => ({ value: t.value, ws: getComputedStyle(t).whiteSpace, lines: t.value.split("\n").length }));
  check("challenge shown with its lines", shown.lines === 4 && shown.ws === "pre" && !shown.value.endsWith("\n"), shown);
  await page.click('button[data-copy="challenge"]');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  check("Copy copies the challenge exactly", copied === shown.value, { copied, value: shown.value });
  await shot("signin-challenge", page);
  // A forged signature of the copied text fails.
  await page.fill("#signature", await sign(cfg.forger, copied));
  await page.click("#signin-form button[type=submit]");
  await page.waitForLoadState();
  check("forged signature refused", (await page.$("#error")) !== null && (await page.$("#whoami")) === null);
  await shot("signin-forged", page);
  // The keyboard's copy of the textarea signs in.
  await challenge(page, cfg.miners[0]);
  await page.click("#challenge");
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Control+C");
  const keyed = await page.evaluate(() => navigator.clipboard.readText());
  check("keyboard copy is the challenge", keyed === (await page.$eval("#challenge", (t) => t.value)), keyed);
  await page.fill("#signature", await sign(cfg.minerURIs[0], keyed));
  await page.click("#signin-form button[type=submit]");
  await page.waitForLoadState();
  check("the copied challenge's signature signs in", page.url().includes("/dashboard") && (await text(page, "#dash-hotkey")) === cfg.miners[0], page.url());
  await shot("dashboard-desktop", page);
}

async function fixture(ctx, page) {
  await overview(page, "fixture");
  await shot("overview-desktop", page);
  await leaderboards(page, "fixture", cfg.validators);

  // Detail pages: charts with honest axes.
  await page.goto(base + "/miners/" + cfg.miners[1]);
  const sc = await chart(page, "#chart-scores");
  check("miner score chart: y from 0, a line per validator", sc.drawn && sc.ymin === 0 && sc.legend.length === 2 && legendOK(sc), sc);
  const rw = await chart(page, "#chart-rewards");
  check("miner rewards chart: y from 0", rw.drawn && rw.ymin === 0 && legendOK(rw), rw);
  await shot("miner-desktop", page);
  await page.goto(base + "/validators/" + cfg.validators[0]);
  const tr = await chart(page, "#chart-trust");
  check("validator trust chart: y axis [0, 1]", tr.drawn && tr.ymin === 0 && tr.ymax === 1 && legendOK(tr), tr);
  await shot("validator-desktop", page);
  await page.goto(base + "/tasks/" + cfg.task);
  check("task lease history", (await page.$$("table.leases tbody tr")).length >= 1);

  // Submissions: each check a line; verdicts side by side.
  await page.goto(base + "/submissions/" + cfg.rejected);
  const failed = await page.$$eval("#checks tr.check", (trs) => trs.map((tr) => [tr.cells[0].textContent.trim(), Array.from(tr.cells).slice(1).map((c) => c.className)]));
  const prov = failed.find((r) => r[0] === "Provenance");
  check("rejected submission: provenance failed for both validators", prov && prov[1].every((c) => c === "check-failed"), failed);
  const advice = await text(page, "section.advice");
  check("rejected submission: the number, the threshold and what to do", /3 of 20/.test(advice) && /at most 0% may differ/.test(advice) && /What to do/.test(advice), advice);
  await shot("submission-rejected", page);
  await page.goto(base + "/submissions/" + cfg.split);
  const verdicts = await page.$$eval("#checks tr.verdict-row td", (tds) => tds.map((td) => td.textContent.trim()));
  check("split submission: verdicts side by side with their agreement", verdicts.length === 2 && verdicts.some((v) => /accepted.*agrees/.test(v)) &&
    verdicts.some((v) => /rejected.*disagrees/.test(v)), verdicts);
  await page.goto(base + "/submissions/" + cfg.lease);
  const sub = await api("/v1/submissions/" + cfg.lease);
  check("accepted submission: verdict count is the API's", (await page.$$("#checks thead th.vcol")).length === sub.verdicts.length && sub.verdicts.length === 2);
  check("submission revision link", ((await page.getAttribute("#revision-link", "href")) || "").startsWith("https://huggingface.co/datasets/"));
  await shot("submission-desktop", page);
  await page.goto(base + "/payouts");
  check("payout rows", (await page.$$("#payouts tbody tr")).length > 1);

  // Favicon.
  const icon = await page.evaluate(async () => { const r = await fetch("/favicon.ico"); return [r.status, r.headers.get("content-type")]; });
  check("favicon", icon[0] === 200 && icon[1] === "image/svg+xml" && (await page.$('link[rel="icon"]')) !== null, icon);

  await signInChecks(page);

  // Profile: the owner edits it; its name shows on the pages.
  await page.fill('input[name="display_name"]', "Deep Miner");
  await page.fill('input[name="dataset_repo"]', "deep/refined");
  await page.fill('textarea[name="description"]', "<script>window.__pwned=1</script> runs on GPUs");
  await page.click("#profile-form button[type=submit]");
  await page.waitForLoadState();
  check("profile saved", ((await page.textContent("#flash")) || "").includes("Profile saved"));
  await page.goto(base + "/miners/" + cfg.miners[0]);
  check("profile shown", (await text(page, "#display-name")) === "Deep Miner" && (await page.textContent("#profile-description")).includes("<script>"));
  await page.goto(base + "/miners");
  check("name on the leaderboard", (await page.$$eval("#miners a.named", (as) => as.map((a) => a.textContent))).includes("Deep Miner"));
  await page.goto(base + "/");
  check("name in the events", (await page.$$eval("#events a.who", (as) => as.map((a) => a.textContent))).includes("Deep Miner"));

  // Another hotkey cannot edit it: by the form, nor by the API.
  const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await other.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const p2 = await other.newPage();
  watch(p2);
  await p2.goto(base + "/signin");
  await p2.fill("#hotkey", cfg.miners[1]);
  await p2.click("#challenge-form button[type=submit]");
  await p2.fill("#signature", await sign(cfg.minerURIs[1], await p2.$eval("#challenge", (t) => t.value)));
  await p2.click("#signin-form button[type=submit]");
  await p2.waitForLoadState();
  await p2.$eval('#profile-form input[name="hotkey"]', (el, h) => { el.value = h; }, cfg.miners[0]);
  await p2.fill('input[name="display_name"]', "pwned");
  const [resp] = await Promise.all([p2.waitForNavigation(), p2.click("#profile-form button[type=submit]")]);
  check("other hotkey's form edit refused", resp.status() === 403, resp.status());
  const apiStatus = await p2.evaluate(async (h) => {
    const s = await (await fetch("/v1/site/auth/session")).json();
    const r = await fetch("/v1/site/profiles/" + h, { method: "PUT", headers: { "Content-Type": "application/json", "X-CSRF-Token": s.csrf_token }, body: JSON.stringify({ display_name: "pwned" }) });
    return r.status;
  }, cfg.miners[0]);
  check("other hotkey's API edit refused", apiStatus === 403, apiStatus);
  await other.close();

  // Board: a post with <script> is shown inert.
  await page.goto(base + "/board");
  await page.fill('#new-thread input[name="title"]', "Hello <script>window.__pwned=2</script>");
  await page.fill('#new-thread textarea[name="body"]', 'Look: <script>window.__pwned=3</script> <img src=x onerror="window.__pwned=4"> **bold**');
  await page.click("#new-thread button[type=submit]");
  await page.waitForLoadState();
  const inert = await page.evaluate(() => ({
    pwned: window.__pwned, scripts: document.querySelectorAll("main script").length, imgs: document.querySelectorAll("main img").length,
    text: document.querySelector("article .body").textContent, bold: document.querySelectorAll("article .body strong").length,
  }));
  check("script post inert", inert.pwned === undefined && inert.scripts === 0 && inert.imgs === 0 && inert.text.includes("<script>window.__pwned=3</script>") && inert.bold === 1, inert);
  await shot("thread-desktop", page);

  await phone(browser, shot, [["overview", "/"], ["miners", "/miners", "#miners"], ["validators", "/validators"],
    ["miner", "/miners/" + cfg.miners[1]], ["submission", "/submissions/" + cfg.rejected], ["board", "/board"]]);
}

async function devnet(ctx, page) {
  const sum = cfg.summary; // the CLI summary of the same devnet
  // Both sites (the devnet's own, mounted in the task server, and this one
  // over HTTP) and the API show the summary's numbers.
  const st = await overview(page, "devnet");
  check("devnet: tokens accepted are the CLI summary's", st.accepted.tokens === sum.tokens && st.accepted.documents === sum.documents &&
    st.accepted.submissions === sum.accepted_submissions && sum.tokens > 0, { api: st.accepted, summary: [sum.tokens, sum.documents, sum.accepted_submissions] });
  // Against the manifests: in an honest run every task's one submission is
  // accepted, so the accepted tokens are what the miners' manifests state.
  check("devnet: tokens accepted are the miners' manifests' totals", sum.accepted_submissions !== sum.tasks ||
    (sum.tokens === sum.published_tokens && sum.documents === sum.published_documents), [sum.tokens, sum.published_tokens, sum.documents, sum.published_documents]);
  check("devnet: tasks done are the CLI summary's", st.counts.tasks === sum.tasks && st.counts.done === sum.tasks_done, [st.counts, sum.tasks, sum.tasks_done]);
  await shot("devnet-overview-desktop", page);
  const own = await browser.newPage();
  const resp = await own.goto(cfg.devnetSite + "/");
  const ownTokens = await own.$('[data-k="stats.accepted.tokens"]');
  check("devnet: its own site shows the same tokens", ownTokens !== null && (await ownTokens.textContent()).trim() === fmt(sum.tokens),
    ownTokens ? await ownTokens.textContent() : `${resp.status()}: ${(await own.textContent("main")).slice(0, 300)}`);
  await own.close();
  await leaderboards(page, "devnet", sum.validators.map((v) => v.hotkey));
  // Emission over the run only grows: the ledger's totals are at least
  // the summary's.
  const pay = await api("/v1/payouts?limit=5000");
  const total = new Map(pay.totals.map((t) => [t.hotkey, t.total]));
  const low = [...sum.miners, ...sum.validators].filter((n) => (total.get(n.hotkey) || 0) < n.emission_rao);
  check("devnet: payout totals cover the summary's emission over the run", pay.source === "ledger" && low.length === 0, low);
  const miners = await api("/v1/miners?since=168h");
  const names = new Set(miners.miners.map((m) => m.hotkey));
  check("devnet: every summary miner is on the leaderboard", sum.miners.every((m) => names.has(m.hotkey)));

  // A submission of the run.
  const acc = await api("/v1/accepted");
  await page.goto(base + "/submissions/" + acc.submissions[0].lease_id);
  const cells = await page.$$eval("#checks tr.check td", (tds) => tds.map((td) => td.className));
  check("devnet: an accepted submission's checks all passed", cells.length > 0 && cells.every((c) => c === "check-passed" || c === "check-score"), cells);
  await shot("devnet-submission", page);

  // The dataset built from the accepted submissions.
  await page.goto(base + "/dataset");
  const ds = cfg.dataset;
  check("dataset: tokens and documents are summary.json's", (await text(page, "#ds-tokens")) === fmt(ds.tokens) && (await text(page, "#ds-documents")) === fmt(ds.documents), ds);
  check("dataset: the latest revision", (await text(page, "#ds-revision")) === cfg.datasetRevision);
  const dumps = await page.$$eval("#dumps tbody tr", (trs) => trs.map((tr) => [tr.cells[0].textContent.trim(), tr.cells[2].textContent.trim(), +tr.cells[5].getAttribute("data-bytes")]));
  check("dataset: per-crawl tokens and sizes", dumps.length === ds.dumps.length && dumps.every((d, i) => d[0] === ds.dumps[i].dump && d[1] === fmt(ds.dumps[i].tokens) && d[2] > 0), dumps);
  check("dataset: no more documents than accepted", ds.documents <= st.accepted.documents && ds.documents > 0);
  const samples = await page.$$eval("#samples article", (as) => as.map((a) => ({ url: a.querySelector(".sample-url").getAttribute("href"), miner: a.querySelector(".sample-meta a").getAttribute("title"), text: a.querySelector(".sample-text").textContent })));
  check("dataset: random documents with URL, miner and text", samples.length > 0 && samples.every((s) => /^https?:\/\//.test(s.url) && sum.miners.some((m) => m.hotkey === s.miner) && s.text.length > 0), samples.length ? samples : await page.textContent("main"));
  const growth = await chart(page, "#chart-dataset");
  // One build: one point, an x axis of one build either side, y from 0.
  check("dataset growth chart: one point, honest axes", growth.drawn && growth.points === 1 && growth.xmax - growth.xmin === 2 && growth.ymin === 0 && legendOK(growth), growth);
  await page.click("#more-samples");
  await page.waitForFunction(() => document.querySelectorAll("#samples article").length > 0);
  check("dataset: other samples load", (await page.$$("#samples article")).length > 0);
  await shot("devnet-dataset-desktop", page);

  await phone(browser, shot, [["devnet-overview", "/"], ["devnet-miners", "/miners", "#miners"], ["devnet-dataset", "/dataset"]]);
}

try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const page = await ctx.newPage();
  watch(page);
  if (cfg.scenario === "fixture") await fixture(ctx, page);
  else if (cfg.scenario === "devnet") await devnet(ctx, page);
  else throw new Error("unknown scenario " + cfg.scenario);
  check("no console errors (CSP included)", consoleErrors.length === 0, consoleErrors);
} catch (e) {
  failures.push("exception: " + (e && e.stack || e));
} finally {
  await browser.close();
}
console.log(JSON.stringify({ ok: failures.length === 0, checks, failures }, null, 1));
process.exit(failures.length === 0 ? 0 : 1);
