/**
 * The dashboard in headless Chromium on an emulated fleet under load: no console errors, every view shows
 * data, the admin key is asked for and a refusal explained, and a drain click drains the instance.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { chromiumMissing, launchChromium, type LaunchedBrowser } from "./helpers/chromium.js";
import { eventually, startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";
import { driveLoad } from "./helpers/load-traffic.js";

const MODEL = "llama3.2:1b";
const EMULATOR = ["--models", `${MODEL}:1.3:1.2`, "--parallel", "2"];
const KEY = "dash-k3y";

const missing = chromiumMissing();
// Where Chromium is part of the contract (CI installs it), a missing browser is a failure, not a skip.
const skip = missing !== undefined && !process.env.CI ? `skipped: ${missing}` : false;

describe("the dashboard in a browser", { skip, timeout: 180_000 }, () => {
  let fleet: FleetFixture;
  let chromium: LaunchedBrowser;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async () => {
    if (missing) throw new Error(`${missing} (CI is set, so the browser test must run)`);
    fleet = await startFleet([{ args: EMULATOR }, { args: EMULATOR }], (c) => {
      c.gateway.adminKey = KEY;
    });
    const load = await driveLoad(fleet.url, { models: [MODEL], concurrency: 6, requests: 60 });
    assert.equal(load[200], 60, JSON.stringify(load));
    chromium = await launchChromium();
    page = await chromium.browser.newPage({ viewport: { width: 1280, height: 720 } });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    await page.goto(`${fleet.url}/dashboard`);
    await page.waitForSelector("#instances-table tbody tr");
  });
  after(async () => {
    await chromium?.close();
    await fleet?.close();
  });

  it("shows live data in every view with no console error", async () => {
    // Fresh traffic while the page watches, so the live stream (not just the first frame) is exercised.
    await driveLoad(fleet.url, { models: [MODEL], concurrency: 4, requests: 20 });
    await page.waitForSelector("#conn.conn-live");
    assert.equal(await page.locator("#instances-table tbody tr").count(), 2);
    const kpis = await page.locator("#kpis .kpi").allInnerTexts();
    assert.equal(kpis.length, 6);
    assert.match(
      kpis.find((k) => k.startsWith("Healthy"))!,
      /2 \/ 2/,
    );
    assert.ok(await page.locator("#heatmap canvas").first().isVisible(), "heatmap drawn");
    assert.match(await page.locator("#heatmap-source").innerText(), /estimate/);
    await page.waitForSelector("#dist-chart .uplot", { state: "visible" });
    assert.equal(await page.locator("#dist-share .share-row").count(), 2);
    await page.waitForSelector("#errors-chart .uplot", { state: "visible" });
    await page.waitForSelector("#queue-chart .uplot", { state: "visible" });
    await page.waitForSelector("#models-table tbody tr");
    assert.match(await page.locator("#models-table").innerText(), new RegExp(MODEL));
    assert.equal(await page.locator("#gpus .gpu").count(), 2);
    assert.match(await page.locator("#gpus").innerText(), new RegExp(MODEL), "loaded model shown on its GPU");
    const shares = await page.locator("#dist-share").innerText();
    assert.match(shares, /requests/);
    assert.equal(
      await page.locator("#emulated-banner").isVisible(),
      false,
      "a configured fleet is not 'emulated'",
    );
    assert.deepEqual(consoleErrors, []);
  });

  it("fits a 1280×720 laptop screen without horizontal scrolling", async () => {
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the window`);
  });

  it("follows the system's dark scheme and switches theme with the toggle", async () => {
    const bg = () => page.evaluate<string>("getComputedStyle(document.body).backgroundColor");
    await page.emulateMedia({ colorScheme: "dark" });
    const dark = await bg();
    await page.emulateMedia({ colorScheme: "light" });
    const light = await bg();
    assert.notEqual(dark, light);
    await page.click("#theme-button");
    assert.equal(await page.evaluate<string>("document.documentElement.dataset.theme"), "dark");
    assert.equal(await bg(), dark);
    await page.click("#theme-button");
    assert.equal(await bg(), light);
  });

  it("asks for the admin key, explains a refusal, then drains the instance", async () => {
    const target = fleet.gateway.fleet.instances()[1]!.id;
    const row = page.locator(`#instances-table tr[data-instance="${target}"]`);
    assert.equal(await row.locator("[data-state]").getAttribute("data-state"), "healthy");
    await row.locator('button[data-action="drain"]').click();
    await page.waitForSelector("#key-dialog[open]");
    await page.fill("#key-input", "wrong-key");
    await page.click("#key-save");
    await page.waitForSelector(".toast-error");
    assert.match(
      await page.locator(".toast-error").last().innerText(),
      /Refused \(403\): admin key rejected/,
    );
    await page.waitForSelector("#key-dialog[open]");
    assert.equal(
      await page.evaluate<string | null>("sessionStorage.getItem('ollama-fleet-admin-key')"),
      null,
    );
    await page.fill("#key-input", KEY);
    await page.click("#key-save");
    await page.waitForSelector(`#instances-table tr[data-instance="${target}"] [data-state="draining"]`);

    const listed = (await (
      await fetch(`${fleet.url}/fleet/instances`, { headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as { instances: { id: string; draining: boolean; state: string }[] };
    const drained = listed.instances.find((i) => i.id === target)!;
    assert.equal(drained.draining, true);
    assert.equal(drained.state, "draining");
    // The key lives in this tab's sessionStorage only, never in localStorage.
    assert.equal(await page.evaluate<string | null>("sessionStorage.getItem('ollama-fleet-admin-key')"), KEY);
    assert.equal(await page.evaluate<boolean>("Object.keys(localStorage).some((k) => /key/.test(k))"), false);

    await eventually(async () => /drained/.test(await page.locator("#events").innerText()));
    await page
      .locator(`#instances-table tr[data-instance="${target}"] button[data-action="undrain"]`)
      .click();
    await page.waitForSelector(`#instances-table tr[data-instance="${target}"] [data-state="healthy"]`);
    assert.equal(fleet.gateway.fleet.get(target)!.draining, false);
    assert.deepEqual(
      consoleErrors.filter((e) => !/401|403/.test(e)),
      [],
    );
  });
});
