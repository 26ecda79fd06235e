// Browser tests of the website, run by web/e2e_test.go against a server it
// filled with fixtures: node run.mjs <config.json>. The config names the
// base URL, the test "wallet" that signs challenges (standing in for
// `refine wallet sign`), the hotkeys and the numbers the pages must show,
// and the folder for screenshots. Prints a JSON report; exits 1 on failure.
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
  (ok ? checks : failures).push((detail === undefined ? name : `${name}: ${detail}`) + at);
}

async function sign(uri, message) {
  const r = await fetch(cfg.signer, { method: "POST", body: JSON.stringify({ uri, message }) });
  if (!r.ok) throw new Error("signer: " + r.status);
  return (await r.json()).signature;
}

// chartDrawn waits for a uPlot chart and checks its canvas has ink.
async function chartDrawn(page, sel) {
  try {
    await page.waitForSelector(`${sel}[data-drawn="yes"] canvas`, { timeout: 10000 });
  } catch (e) {
    return false;
  }
  return page.$eval(`${sel} canvas`, (c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
    return ink > 100;
  });
}

// playwright-core's launch() gives Chromium a fresh temporary profile
// (--user-data-dir) itself, and refuses one in args.
const browser = await chromium.launch({
  executablePath: cfg.chromium || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await desktop.newPage();
  const consoleErrors = [];
  // Expected 401/403 answers (the forged sign-in) are logged as failed loads: not errors of the site.
  page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  const shot = (name, p = page) => p.screenshot({ path: join(cfg.artifacts, name + ".png"), fullPage: true });

  // Overview: real numbers, charts drawn, live updates.
  await page.goto(base + "/");
  check("overview tokens", (await page.textContent('[data-k="tokens"]')).trim() === cfg.tokens,
    await page.textContent('[data-k="tokens"]'));
  check("overview documents", (await page.textContent('[data-k="documents"]')).trim() === cfg.documents);
  check("overview active validators", (await page.textContent('[data-k="active_validators"]')).trim() === "2");
  check("tokens chart drawn", await chartDrawn(page, "#chart-tokens"));
  check("completions chart drawn", await chartDrawn(page, "#chart-completions"));
  try {
    await page.waitForSelector("[data-live][data-updated]", { timeout: 10000 });
    check("overview live update", (await page.textContent('[data-k="tokens"]')).trim() === cfg.tokens);
  } catch (e) { check("overview live update", false, e.message); }
  check("events listed", (await page.$$("#events li")).length > 0);
  await shot("overview-desktop");

  // Leaderboards, sortable.
  await page.goto(base + "/miners");
  check("miners rows", (await page.$$("#miners tbody tr")).length === cfg.miners.length);
  await page.click('#miners th[data-sort="emission"]');
  const em = await page.$$eval("#miners tbody tr td:nth-child(9)", (tds) => tds.map((t) => parseFloat(t.getAttribute("data-v"))));
  check("miners sorted by emission", em.every((v, i) => i === 0 || em[i - 1] >= v), JSON.stringify(em));
  await shot("miners-desktop");
  await page.goto(base + "/validators");
  check("validators rows", (await page.$$("#validators tbody tr")).length === 2);
  await shot("validators-desktop");

  // Detail pages.
  await page.goto(base + "/miners/" + cfg.miners[1]);
  check("miner score chart", await chartDrawn(page, "#chart-scores"));
  check("miner rewards chart", await chartDrawn(page, "#chart-rewards"));
  await shot("miner-desktop");
  await page.goto(base + "/validators/" + cfg.validator);
  check("validator trust chart", await chartDrawn(page, "#chart-trust"));
  await page.goto(base + "/tasks/" + cfg.task);
  check("task lease history", (await page.$$("table.leases tbody tr")).length >= 1);
  await page.goto(base + "/submissions/" + cfg.lease);
  check("submission breakdown", (await page.textContent("main")).includes("verified_tokens"));
  check("submission revision link", (await page.getAttribute("#revision-link", "href") || "").startsWith("https://huggingface.co/datasets/"));
  await shot("submission-desktop");
  await page.goto(base + "/payouts");
  check("payout rows", (await page.$$("#payouts tbody tr")).length > 1);
  await shot("payouts-desktop");

  // Sign in: a forged signature fails, the real one works.
  async function signIn(p, hotkey, signerURI) {
    await p.goto(base + "/signin");
    await p.fill("#hotkey", hotkey);
    await p.click("#challenge-form button[type=submit]");
    const msg = await p.textContent("#challenge");
    await p.fill("#signature", await sign(signerURI, msg));
    await p.click("#signin-form button[type=submit]");
    await p.waitForLoadState();
  }
  await signIn(page, cfg.miners[0], cfg.forger);
  check("forged signature refused", (await page.$("#error")) !== null && (await page.$("#whoami")) === null);
  await shot("signin-forged");
  await signIn(page, cfg.miners[0], cfg.minerURIs[0]);
  check("real signature signs in", page.url().includes("/dashboard") && (await page.textContent("#dash-hotkey")).trim() === cfg.miners[0]);
  await shot("dashboard-desktop");

  // Profile: the owner edits it.
  await page.fill('input[name="display_name"]', "Deep Miner");
  await page.fill('input[name="dataset_repo"]', "deep/refined");
  await page.fill('textarea[name="description"]', "<script>window.__pwned=1</script> runs on GPUs");
  await page.click("#profile-form button[type=submit]");
  await page.waitForLoadState();
  check("profile saved", ((await page.textContent("#flash")) || "").includes("Profile saved"));
  await page.goto(base + "/miners/" + cfg.miners[0]);
  check("profile shown", (await page.textContent("#display-name")).trim() === "Deep Miner" &&
    (await page.textContent("#profile-description")).includes("<script>"));

  // Another hotkey cannot edit it: by the form, nor by the API.
  const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const p2 = await other.newPage();
  await signIn(p2, cfg.miners[1], cfg.minerURIs[1]);
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
  await page.goto(base + "/miners/" + cfg.miners[0]);
  check("profile unchanged", (await page.textContent("#display-name")).trim() === "Deep Miner");
  await other.close();

  // Board: a post with <script> is shown inert.
  await page.goto(base + "/board");
  await page.fill('#new-thread input[name="title"]', "Hello <script>window.__pwned=2</script>");
  await page.fill('#new-thread textarea[name="body"]', 'Look: <script>window.__pwned=3</script> <img src=x onerror="window.__pwned=4"> **bold**');
  await page.click("#new-thread button[type=submit]");
  await page.waitForLoadState();
  const inert = await page.evaluate(() => ({
    pwned: window.__pwned,
    scripts: document.querySelectorAll("main script").length,
    imgs: document.querySelectorAll("main img").length,
    text: document.querySelector("article .body").textContent,
    bold: document.querySelectorAll("article .body strong").length,
  }));
  check("script post inert", inert.pwned === undefined && inert.scripts === 0 && inert.imgs === 0 && inert.text.includes("<script>window.__pwned=3</script>") && inert.bold === 1, JSON.stringify(inert));
  await shot("thread-desktop");

  // Phone width: usable, no sideways scrolling of the page.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const pp = await phone.newPage();
  for (const [name, path] of [["overview", "/"], ["miners", "/miners"], ["miner", "/miners/" + cfg.miners[1]], ["board", "/board"]]) {
    await pp.goto(base + path);
    if (name === "overview") check("phone tokens chart drawn", await chartDrawn(pp, "#chart-tokens"));
    // A page wider than the screen would make a phone zoom out (and
    // innerWidth grow): compare with the device width itself.
    const w = await pp.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    check(`phone ${name} fits`, w[0] <= 390 && w[1] === 390, JSON.stringify(w));
    await shot(`${name}-phone`, pp);
  }
  await phone.close();
  check("no console errors", consoleErrors.length === 0, JSON.stringify(consoleErrors));
} catch (e) {
  failures.push("exception: " + (e && e.stack || e));
} finally {
  await browser.close();
}
console.log(JSON.stringify({ ok: failures.length === 0, checks, failures }, null, 1));
process.exit(failures.length === 0 ? 0 : 1);
