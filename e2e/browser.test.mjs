// Browser tests of one running stage: the API explorer and the live dashboard, in Debian's
// chromium driven by playwright-core. e2e/test_stages.py starts the stage and passes its URLs:
//   HOMESENSE_BASE_URL, HOMESENSE_WS_URL, HOMESENSE_STAGE (1|2|3), HOMESENSE_SCREENSHOT_DIR
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.HOMESENSE_BASE_URL;
const WS = process.env.HOMESENSE_WS_URL;
const STAGE = process.env.HOMESENSE_STAGE || "x";
const SHOTS = process.env.HOMESENSE_SCREENSHOT_DIR || "";
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
// The promise: an out-of-range reading is on the page within 5 s, without a reload.
const ALERT_DEADLINE_MS = 5000;
// How long each mode is watched while nothing happens.
const IDLE_MS = 2500;
// Flags that keep chromium from calling out (this machine has no network but the registries).
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

assert.ok(BASE && WS, "HOMESENSE_BASE_URL and HOMESENSE_WS_URL must be set");

let profile;
let context;

before(async () => {
  profile = mkdtempSync(path.join(tmpdir(), "homesense-chromium-"));
  // A persistent context on a fresh directory: the fresh --user-data-dir of every run.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ["--headless", ...FLAGS],
    viewport: { width: 1280, height: 900 },
  });
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

// The page's own problems (a CSP refusal, a script error, a missing asset) fail the test.
function watch(page) {
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    // A failed load is reported with its URL below; the console line carries none.
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) {
      problems.push(`console: ${msg.text()}`);
    }
  });
  page.on("response", (response) => {
    // Browsers ask for /favicon.ico on their own; no stage serves one.
    if (response.status() >= 400 && !response.url().endsWith("/favicon.ico")) {
      problems.push(`${response.status()} for ${response.url()}`);
    }
  });
  return problems;
}

async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `stage${STAGE}-${name}.png`) });
}

async function call(method, urlPath, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(BASE + urlPath, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

test("/docs renders the contract and 'Try it out' calls this stage", async () => {
  const page = await context.newPage();
  await page.bringToFront(); // a background tab's timers are throttled
  const problems = watch(page);
  await page.goto(`${BASE}/docs`);
  const operation = page.locator("#operations-system-getHealth");
  await operation.waitFor({ timeout: 20000 });
  // The served spec names this deployment as its only server.
  const servers = await page.locator(".servers select option").evaluateAll((options) => options.map((o) => o.value));
  assert.deepEqual(servers, [BASE]);
  await operation.locator(".opblock-summary").click();
  await operation.getByRole("button", { name: "Try it out" }).click();
  await operation.getByRole("button", { name: "Execute" }).click();
  const requestUrl = operation.locator(".request-url pre");
  await requestUrl.waitFor({ timeout: 15000 });
  assert.equal((await requestUrl.textContent()).trim(), `${BASE}/health`);
  const status = operation.locator(".live-responses-table tr.response .response-col_status");
  await status.waitFor({ timeout: 15000 });
  assert.equal((await status.textContent()).trim(), "200");
  const body = await operation.locator(".live-responses-table tr.response .highlight-code pre").first().textContent();
  assert.equal(JSON.parse(body).version, "1.0.0");
  // The picture: the operation from its summary down to the live response, not its 30 examples.
  const clip = await page.evaluate(() => {
    const top = document.querySelector("#operations-system-getHealth").getBoundingClientRect();
    const end = document.querySelector("#operations-system-getHealth .live-responses-table").getBoundingClientRect();
    return { x: top.left, y: top.top + window.scrollY, width: top.width, height: end.bottom - top.top };
  });
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `stage${STAGE}-docs.png`), fullPage: true, clip });
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test("the dashboard shows an out-of-range reading as an alert within 5 s, without a reload", async () => {
  const username = `dash_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
  const password = "correct horse battery";
  assert.equal((await call("POST", "/users", { body: { username, password } })).status, 201);
  const token = (await call("POST", "/auth/token", { body: { username, password } })).body.access_token;
  const device = (await call("POST", "/devices", {
    token, body: { name: "Living room", room: "living", kind: "temperature", unit: "°C",
      low_threshold: 16, high_threshold: 26 },
  })).body;
  const readings = (values) => call("POST", `/devices/${device.id}/readings`, {
    token, body: { readings: values.map((value) => ({ value })) },
  });
  assert.equal((await readings([20.5, 21, 21.4, 22.1, 21.8])).status, 202);

  const page = await context.newPage();
  await page.bringToFront(); // a background tab's timers are throttled
  const problems = watch(page);
  await page.goto(`${BASE}/dashboard`);
  // The page defaults to the stage that served it, stage 3's separate WebSocket API included.
  assert.equal(await page.locator("#base-url").inputValue(), BASE);
  assert.equal(await page.locator("#ws-url").inputValue(), WS);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await page.click("#signin-button");
  await page.locator(`#device-list li[data-device-id="${device.id}"]`).waitFor({ timeout: 15000 });
  await page.locator('#ws-state[data-state="open"]').waitFor({ timeout: 15000 });
  await page.locator('#chart[data-points="5"]').waitFor({ timeout: 15000 });
  let navigations = 0;
  page.on("framenavigated", (frame) => { if (frame === page.mainFrame()) navigations += 1; });

  // A sensor far away posts a reading above high_threshold; the page only listens.
  const posted = await readings([31.5]);
  assert.equal(posted.status, 202);
  const started = Date.now();
  const alert = page.locator(`#alert-list li[data-device-id="${device.id}"][data-status="open"]`);
  await alert.waitFor({ timeout: ALERT_DEADLINE_MS });
  const seconds = (Date.now() - started) / 1000;
  console.log(`stage ${STAGE}: alert on the page ${seconds.toFixed(2)} s after the 202`);
  assert.equal(navigations, 0, "the page reloaded");
  assert.match(await alert.textContent(), /Living room: high alert, open, level 1; last value 31\.5/);
  await page.locator('#chart[data-points="6"]').waitFor({ timeout: 10000 });
  await shot(page, "dashboard");

  // Ack: the button's POST and the pushed alert.acknowledged agree.
  await alert.getByRole("button", { name: "Ack" }).click();
  await page.locator(`#alert-list li[data-device-id="${device.id}"][data-status="acknowledged"]`)
    .waitFor({ timeout: 10000 });
  const stored = await call("GET", `/alerts?device_id=${device.id}`, { token });
  assert.equal(stored.body.items[0].status, "acknowledged");

  // Idle, push mode sends no HTTP request; poll mode keeps asking. Counted at the network.
  let requests = 0;
  page.on("request", (request) => { if (request.url().startsWith(BASE)) requests += 1; });
  await page.waitForTimeout(IDLE_MS);
  const pushed = requests;
  await page.click("#mode-poll");
  await page.locator('#ws-state[data-state="closed"]').waitFor({ timeout: 5000 });
  requests = 0;
  await page.waitForTimeout(IDLE_MS);
  const polled = requests;
  const perMinute = (n) => Math.round((n * 60000) / IDLE_MS);
  console.log(`stage ${STAGE}: idle, push mode costs ${perMinute(pushed)} HTTP requests/min, ` +
              `poll mode ${perMinute(polled)}/min (${pushed} and ${polled} in ${IDLE_MS / 1000} s)`);
  assert.equal(pushed, 0);
  // Every 2 s the page asks for alerts and readings: at least one round in 2.5 s.
  assert.ok(polled >= 2, `poll mode made ${polled} requests in ${IDLE_MS} ms`);
  await page.waitForTimeout(1100); // the counter on the page refreshes every second
  assert.ok(Number(await page.locator("#http-rate").textContent()) >= polled);
  assert.deepEqual(problems, []);
  await page.close();
});
